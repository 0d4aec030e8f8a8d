// Static HTTPS server for the lab's chart repository and tool mirror. No listing, 404 for anything else.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.yaml': 'application/yaml',
  '.tgz': 'application/gzip',
  '.gz': 'application/gzip',
  '.sha256': 'text/plain',
  '.sha256sum': 'text/plain',
  '.html': 'text/html',
  '.whl': 'application/zip',
};

export interface RepoServer {
  url: string;
  requests(): Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

export async function startRepoServer(opts: {
  dir: string;
  host?: string;
  port?: number;
  tls: { cert: string; key: string };
}): Promise<RepoServer> {
  const log: Array<{ method: string; path: string; status: number }> = [];
  const root = normalize(opts.dir);
  const server = createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'https://repo').pathname);
    // A folder URL (pip's simple index asks for /pypi/simple/<name>/) serves its index.html.
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    const done = (status: number) => log.push({ method: req.method ?? '', path, status });
    let size = -1;
    try {
      const st = statSync(file);
      if (st.isFile() && file.startsWith(root + sep) && !path.split('/').some((p) => p.startsWith('.'))) size = st.size;
    } catch {
      /* missing */
    }
    if (size < 0 || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return done(404);
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size });
    done(200);
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    url: `https://${a.address}${a.port === 443 ? '' : `:${a.port}`}`,
    requests: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
