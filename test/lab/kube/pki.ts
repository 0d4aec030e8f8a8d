// Certificates of the lab's control plane, made with the openssl CLI on the host and named as Kubespray
// names them in the nodes: etcd's under /etc/ssl/etcd/ssl (ca.pem, member-<host>.pem, admin-<host>.pem,
// node-<host>.pem, each with -key.pem), Kubernetes' under /etc/kubernetes/ssl as kubeadm writes them
// (ca.crt, apiserver.crt, sa.key, sa.pub). P-256 keys instead of Kubespray's RSA 2048: same files, a
// fraction of the CPU on the lab's 2 cores.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureLabCa, type LabCa } from '../pki.ts';

export interface CertRequest {
  /** file name without extension, in the CA's folder */
  file: string;
  cn: string;
  /** the subject's organisation: Kubernetes reads it as the user's group */
  org?: string;
  sans?: string[];
  usage: 'server' | 'client' | 'peer';
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Issues a leaf certificate once (kept while the file exists); returns the cert and key paths. */
export function issue(ca: LabCa, req: CertRequest): { cert: string; key: string } {
  const cert = join(ca.dir, `${req.file}.pem`);
  const key = join(ca.dir, `${req.file}-key.pem`);
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  const ext = join(ca.dir, `${req.file}.ext`);
  const usage = { server: 'serverAuth', client: 'clientAuth', peer: 'serverAuth,clientAuth' }[req.usage];
  const sans = (req.sans ?? []).map((s) => (/^[0-9.]+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
  writeFileSync(
    ext,
    ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${usage}`]
      .concat(sans ? [`subjectAltName=${sans}`] : [])
      .join('\n') + '\n',
  );
  const subj = `/CN=${req.cn}${req.org ? `/O=${req.org}` : ''}`;
  const csr = join(ca.dir, `${req.file}.csr`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subj, '-keyout', key, '-out', csr]);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-days', '825', '-sha256'].concat([
      '-extfile',
      ext,
      '-out',
      cert,
    ]),
  );
  return { cert, key };
}

export interface ClusterPki {
  etcd: LabCa;
  kube: LabCa;
  /** service account signing key pair */
  saKey: string;
  saPub: string;
}

export function ensureClusterPki(dir: string): ClusterPki {
  const etcd = ensureLabCa(join(dir, 'etcd'), 'etcd-ca');
  const kube = ensureLabCa(join(dir, 'kube'), 'kubernetes');
  const saKey = join(dir, 'kube/sa.key');
  const saPub = join(dir, 'kube/sa.pub');
  mkdirSync(join(dir, 'kube'), { recursive: true });
  if (!existsSync(saPub)) {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', saKey]);
    openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub]);
  }
  return { etcd, kube, saKey, saPub };
}
