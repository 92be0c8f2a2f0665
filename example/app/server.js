// The example app relink deploys: a tiny HTTP server that answers with its
// version and the release directory it runs from.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fs.realpathSync(fileURLToPath(import.meta.url)));
const release = path.basename(root);
const info = JSON.parse(fs.readFileSync(path.join(root, 'version.json'), 'utf8'));
const env = Object.fromEntries(
  fs
    .readFileSync(path.join(root, 'app.env'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const port = Number(env.PORT);
const greeting = env.GREETING ?? 'hello';

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', version: info.version, commit: info.commit, release }));
    return;
  }
  const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
  const answer = () => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${greeting} from ${info.version} (${release})\n`);
  };
  // /slow?ms=N holds the request open, to show what draining waits for.
  if (slow) setTimeout(answer, Math.min(Number(slow[1]), 60_000));
  else answer();
});
server.keepAliveTimeout = 1000;
// The node's address (127.0.0.1 unless the node has a network of its own).
server.listen(port, env.BIND || '127.0.0.1', () => {
  console.log(`${new Date().toISOString()} listening on ${port} version=${info.version} release=${release}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
