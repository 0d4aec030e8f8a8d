// The lab's Python package index (PEP 503 "simple" layout), for the venv the kubespray stage builds from
// Kubespray's requirements.txt. It holds one stand-in wheel, bcmkube-lab-ansible-shim (see ansible-shim/).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const LAB_PYPI_PACKAGE = 'bcmkube-lab-ansible-shim';
const VERSION = '1.0.0';

/** A pure-Python wheel, zipped by Python's own zipfile module (no pip, no network). */
const WHEEL_BUILDER = `
import base64, hashlib, sys, zipfile
out, init = sys.argv[1], open(sys.argv[2], 'rb').read()
dist = 'bcmkube_lab_ansible_shim-${VERSION}.dist-info'
files = {
  'bcmkube_lab_ansible_shim/__init__.py': init,
  dist + '/METADATA': b'Metadata-Version: 2.1\\nName: ${LAB_PYPI_PACKAGE}\\nVersion: ${VERSION}\\nSummary: bcmkube lab stand-in: runs the system ansible-playbook\\n',
  dist + '/WHEEL': b'Wheel-Version: 1.0\\nGenerator: bcmkube-lab\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
  dist + '/entry_points.txt': b'[console_scripts]\\nansible-playbook = bcmkube_lab_ansible_shim:main\\n',
}
record = ''.join('%s,sha256=%s,%d\\n' % (n, base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode(), len(b)) for n, b in files.items())
files[dist + '/RECORD'] = (record + dist + '/RECORD,,\\n').encode()
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
  for n, b in sorted(files.items()):
    info = zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0))
    z.writestr(info, b)
`;

export async function buildLabPypi(dir: string, shimSource: string): Promise<string> {
  const wheel = `bcmkube_lab_ansible_shim-${VERSION}-py3-none-any.whl`;
  mkdirSync(join(dir, 'pypi/files'), { recursive: true });
  mkdirSync(join(dir, `pypi/simple/${LAB_PYPI_PACKAGE}`), { recursive: true });
  await run('python3', ['-c', WHEEL_BUILDER, join(dir, 'pypi/files', wheel), join(shimSource, '__init__.py')]);
  const sha = createHash('sha256')
    .update(readFileSync(join(dir, 'pypi/files', wheel)))
    .digest('hex');
  writeFileSync(
    join(dir, `pypi/simple/${LAB_PYPI_PACKAGE}/index.html`),
    `<!DOCTYPE html><html><body><a href="../../files/${wheel}#sha256=${sha}">${wheel}</a></body></html>\n`,
  );
  writeFileSync(
    join(dir, 'pypi/simple/index.html'),
    `<!DOCTYPE html><html><body><a href="${LAB_PYPI_PACKAGE}/">${LAB_PYPI_PACKAGE}</a></body></html>\n`,
  );
  return `pypi/files/${wheel}`;
}
