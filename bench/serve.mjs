#!/usr/bin/env zx
// npm run bench:serve: how long `deploy serve` takes to render the overview of a 10-node environment.
// A 10-node sandbox of its own in $TMPDIR (ssh 2701-2710, apps 8701-8710), v1.0.0 then v1.1.0 deployed, 11 users,
// then the built server on a free port, logged in over HTTP like a browser:
//   warm:    GET / with the nodes' state in the cache (the default --cache-ms 5000 covers a page view);
//   refresh: GET /?refresh=1, which reads every node again (SSH connect, inspect, smoke probe) first.
// Each figure is the wall time from request to the last byte, median and p95 of --runs requests.
// Then the load (serve-load.mjs): 100 viewers in 10 users reading a page about every --think-ms, and 50
// event streams on a run going on, for 60 s: page latency p50/p99, errors, the server's peak RSS.
// Writes bench/results/serve.json.
//
//   zx bench/serve.mjs [--nodes 10] [--runs 50] [--viewers 100] [--streams 50] [--seconds 60]
//                      [--think-ms 1000] [--cache-ms 5000 (the dashboard's default)]
//                      [--ssh-port 2701] [--app-port 8701] [--lb-port 8780] [--nginx-port 8790]
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import { $, argv, fs, path } from 'zx';
import { serveLoad } from './serve-load.mjs';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = process.env.RELINK_DIST ?? path.join(root, 'dist');
const bin = path.join(dist, 'bin', 'deploy.js');
const work = path.join(os.tmpdir(), 'relink-bench-serve');
const sandboxDir = path.join(work, 'sandbox');
const project = path.join(work, 'project');
const nodes = Number(argv.nodes ?? 10);
const runs = Number(argv.runs ?? 50);
const password = 'bench-dashboard-password';
const loadUsers = Array.from({ length: 10 }, (_, i) => `viewer${i}`);
const sshPort = Number(argv['ssh-port'] ?? 2701);
const appPort = Number(argv['app-port'] ?? 8701);

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const rank = q * (s.length - 1);
  return s[Math.floor(rank)] + (s[Math.ceil(rank)] - s[Math.floor(rank)]) * (rank - Math.floor(rank));
};
const ms = (x) => Math.round(x * 10) / 10;

async function sandboxUp() {
  const ports = ['--ssh-port', sshPort, '--app-port', appPort];
  ports.push('--lb-port', argv['lb-port'] ?? 8780, '--nginx-port', argv['nginx-port'] ?? 8790);
  await $`zx ${path.join(root, 'scripts', 'sandbox.mjs')} up --nodes ${nodes} --dir ${sandboxDir} ${ports}`;
  return JSON.parse(await fs.readFile(path.join(sandboxDir, 'sandbox.json'), 'utf8'));
}

async function makeProject(sb) {
  await fs.remove(project);
  await fs.mkdirp(path.join(project, 'hosts'));
  await fs.mkdirp(path.join(project, 'templates'));
  await $`zx ${path.join(root, 'scripts', 'example-repo.mjs')} --dir ${path.join(project, 'app')}`;
  await fs.copy(path.join(root, 'templates', 'app.env'), path.join(project, 'templates', 'app.env'));
  const hosts = sb.nodes.map(
    (n) =>
      `  - { name: ${n.name}, address: ${n.address}, port: ${n.sshPort}, user: root, vars: { appPort: ${n.appPort} } }`,
  );
  await fs.writeFile(
    path.join(project, 'hosts', 'prod.yaml'),
    `${['pre: node1', 'groupSize: "25%"', 'hosts:', ...hosts].join('\n')}\n`,
  );
  const ssh = {
    identityFile: path.join(sandboxDir, 'id_ed25519'),
    knownHostsFile: path.join(sandboxDir, 'known_hosts'),
  };
  await fs.writeFile(
    path.join(project, 'deploy.config.ts'),
    `export default {
  project: 'bench',
  repo: './app',
  deployTo: '/srv/relink-serve',
  build: { command: 'node build.mjs' },
  shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: { greeting: 'bench' },
  secrets: ['APP_SECRET'],
  restart: { command: 'sh bin/restart.sh' },
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"', retries: 100, intervalMs: 50 },
  ssh: ${JSON.stringify(ssh)},
};
`,
  );
}

const env = { ...process.env, CI: 'true', APP_SECRET: 'bench-secret-value' };
const cli = (args, input) =>
  execFileSync('node', [bin, ...args], { cwd: project, env, input, stdio: ['pipe', 'pipe', 'inherit'] });

async function startServer() {
  const cache = argv['cache-ms'] === undefined ? [] : ['--cache-ms', String(argv['cache-ms'])];
  const child = spawn('node', [bin, 'serve', '--port', '0', ...cache], { cwd: project, env });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`deploy serve exited ${code}: ${out}`)));
  });
  return { child, url };
}

async function timed(url, cookie) {
  const t = performance.now();
  const response = await fetch(url, { headers: { cookie } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${body.slice(0, 200)}`);
  return { ms: performance.now() - t, body };
}

const sb = await sandboxUp();
let server;
try {
  await makeProject(sb);
  for (const v of ['v1.0.0', 'v1.1.0']) cli(['prod', v]);
  for (const user of ['bench', ...loadUsers]) cli(['serve', '--add-user', user, '--role', 'viewer'], `${password}\n`);
  server = await startServer();
  const login = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: 'bench', password }).toString(),
    redirect: 'manual',
  });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const first = await timed(`${server.url}/?refresh=1`, cookie);
  const shown = (first.body.match(/<td class="version">v1\.1\.0<\/td>/g) ?? []).length;
  if (shown !== nodes) throw new Error(`the overview shows v1.1.0 on ${shown} of ${nodes} nodes`);
  const warm = [];
  const refresh = [];
  for (let i = 0; i < runs; i++) {
    // The cache holds a read for 5 s: a fresh read first, then warm page views inside that window.
    if (i % 10 === 0) refresh.push((await timed(`${server.url}/?refresh=1`, cookie)).ms);
    warm.push((await timed(`${server.url}/`, cookie)).ms);
  }
  const result = {
    date: new Date().toISOString(),
    nodes,
    runs,
    overviewWarmMs: { median: ms(quantile(warm, 0.5)), p95: ms(quantile(warm, 0.95)), max: ms(Math.max(...warm)) },
    overviewRefreshMs: {
      median: ms(quantile(refresh, 0.5)),
      p95: ms(quantile(refresh, 0.95)),
      samples: refresh.length,
    },
    firstReadMs: ms(first.ms),
    load: await serveLoad({
      url: server.url,
      project,
      pid: server.child.pid,
      users: loadUsers,
      password,
      viewers: Number(argv.viewers ?? 100),
      streams: Number(argv.streams ?? 50),
      seconds: Number(argv.seconds ?? 60),
      thinkMs: Number(argv['think-ms'] ?? 1000),
    }),
    bytes: first.body.length,
    cacheMs: Number(argv['cache-ms'] ?? 5000),
    machine: `${(await $`nproc`).stdout.trim()} cores, node ${process.version}`,
  };
  await fs.mkdirp(path.join(root, 'bench', 'results'));
  await fs.writeFile(path.join(root, 'bench', 'results', 'serve.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `overview of ${nodes} nodes: warm median ${result.overviewWarmMs.median} ms (p95 ${result.overviewWarmMs.p95} ms); ` +
      `with a fresh read of every node median ${result.overviewRefreshMs.median} ms`,
  );
  const l = result.load;
  console.log(
    `${l.viewers} viewers and ${l.streamsOpen} of ${l.streams} event streams for ${l.seconds} s ` +
      `(after ${l.warmupSeconds} s of warm-up): ${l.requests} pages, ` +
      `p50 ${l.pageMs.p50} ms, p99 ${l.pageMs.p99} ms, max ${l.pageMs.max} ms; ${l.errors} errors; ` +
      `${l.streamEvents} events streamed; peak RSS ${l.peakRssMb} MB`,
  );
  if (l.errors) console.log(`first errors: ${l.firstErrors.join('; ')}`);
} finally {
  server?.child.kill('SIGTERM');
  await $`zx ${path.join(root, 'scripts', 'sandbox.mjs')} down --dir ${sandboxDir}`.nothrow();
}
