// The example app relink deploys: a tiny HTTP server that answers with its
// version and the release directory it runs from, and counts its requests by
// status with a latency histogram on /metrics (prom-client, vendored in the
// repository's node_modules by scripts/example-repo.mjs). METRICS=off in its
// app.env leaves the metrics out (prom-client is then never loaded).
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
// faults.json in the release, to make a tag a bad release on purpose (docs/analysis.md): `errorRate` answers
// that share of the pages with 500 (every n-th request, so 0.05 is exactly 1 in 20), `delayMs` answers each page
// that much later. /health and /metrics are never affected.
const faultsFile = path.join(root, 'faults.json');
const faults = fs.existsSync(faultsFile) ? JSON.parse(fs.readFileSync(faultsFile, 'utf8')) : {};
const errorEvery = faults.errorRate > 0 ? Math.max(1, Math.round(1 / faults.errorRate)) : 0;
const delayMs = Math.max(0, Number(faults.delayMs) || 0);
let pages = 0;
const greeting = env.GREETING ?? 'hello';

const metrics = env.METRICS === 'off' ? undefined : await countRequests();

/** The request counter by status and the latency histogram, in a registry of their own. */
async function countRequests() {
  const { default: client } = await import('prom-client');
  const registry = new client.Registry();
  registry.setDefaultLabels({ version: info.version, release });
  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'Requests answered, by status',
    labelNames: ['status'],
    registers: [registry],
  });
  // Both statuses from the start, at 0: a rate of errors is then 0 rather than no data until the first one.
  for (const status of ['200', '500']) requests.inc({ status }, 0);
  const latency = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by status',
    labelNames: ['status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, requests, latency };
}

const server = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    if (!metrics) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('metrics are off (METRICS=off in app.env)\n');
      return;
    }
    metrics.registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
    });
    return;
  }
  if (metrics) {
    const stop = metrics.latency.startTimer();
    res.on('finish', () => {
      const status = String(res.statusCode);
      metrics.requests.inc({ status });
      stop({ status });
    });
  }
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', version: info.version, commit: info.commit, release }));
    return;
  }
  const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
  const failing = errorEvery > 0 && ++pages % errorEvery === 0;
  const answer = () => {
    res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
    // Both name the release that answered, so a test can count each release's answers.
    res.end(
      failing ? `failing on purpose (faults.json) in ${release}\n` : `${greeting} from ${info.version} (${release})\n`,
    );
  };
  // /slow?ms=N holds the request open, to show what draining waits for.
  if (slow) setTimeout(answer, Math.min(Number(slow[1]), 60_000));
  else if (delayMs) setTimeout(answer, delayMs);
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
