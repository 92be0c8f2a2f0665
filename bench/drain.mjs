#!/usr/bin/env zx
// Failed requests during a release, through HAProxy at ~250 requests/s on
// fresh connections: relink with the haproxy drain driver (deploy and
// rollback), then the same deploy with the driver `none`. HAProxy runs with
// no retries and no redispatch, so every gap shows as a failed request.
// Writes bench/results/drain.json.
import http from 'node:http';
import { $, fs, path } from 'zx';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'bench', 'work-drain');
const sandboxDir = path.join(work, 'sandbox');
const project = path.join(work, 'project');
const bin = path.join(root, 'dist', 'bin', 'deploy.js');

/** Bounded load: `rate` requests/s over `workers` loops until stopped. */
function startLoad(url, rate = 250, workers = 8) {
  const r = { requests: 0, failures: 0, started: Date.now() };
  let running = true;
  const pause = (workers * 1000) / rate;
  const one = () =>
    new Promise((resolve) => {
      const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => {
          r.requests++;
          if (res.statusCode !== 200) r.failures++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        r.requests++;
        r.failures++;
        resolve();
      });
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running && Date.now() - r.started < 120_000) {
      const t = Date.now();
      await one();
      const wait = pause - (Date.now() - t);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
    return {
      requests: r.requests,
      failures: r.failures,
      rate: Math.round(r.requests / ((Date.now() - r.started) / 1000)),
    };
  };
}

async function underLoad(lbPort, args) {
  const stop = startLoad(`http://127.0.0.1:${lbPort}/`);
  await new Promise((res) => setTimeout(res, 500));
  const run = await $({
    cwd: project,
    nothrow: true,
    env: { ...process.env, CI: 'true', APP_SECRET: 'drain-bench-secret-7f1c' },
  })`node ${bin} ${args}`;
  await new Promise((res) => setTimeout(res, 500));
  const load = await stop();
  if (run.exitCode !== 0) throw new Error(`deploy ${args.join(' ')} failed:\n${run.stderr}`);
  return load;
}

function writeHosts(sb, lb) {
  const hosts = sb.nodes.map(
    (n) =>
      `  - { name: ${n.name}, address: ${n.address}, port: ${n.sshPort}, user: root, vars: { appPort: ${n.appPort} } }`,
  );
  fs.writeFileSync(
    path.join(project, 'hosts', 'prod.yaml'),
    `${['pre: node1', 'groupSize: 1', ...lb, 'hosts:', ...hosts].join('\n')}\n`,
  );
}

await fs.remove(work);
await fs.mkdirp(path.join(project, 'hosts'));
await $({
  cwd: root,
})`zx scripts/sandbox.mjs up --nodes 4 --dir ${sandboxDir} --ssh-port 2601 --app-port 8601 --lb-port 8680`;
const sb = await fs.readJson(path.join(sandboxDir, 'sandbox.json'));
const results = {};
try {
  await $({ cwd: root })`zx scripts/example-repo.mjs --dir ${path.join(project, 'app')}`;
  await fs.copy(path.join(root, 'templates'), path.join(project, 'templates'));
  await fs.writeFile(
    path.join(project, 'deploy.config.ts'),
    `export default {
  project: 'drain', repo: './app', deployTo: '/srv/drain', build: { command: 'node build.mjs' }, shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }], vars: { greeting: 'hello' }, secrets: ['APP_SECRET'],
  restart: { command: 'sh bin/restart.sh' },
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"', retries: 50, intervalMs: 100 },
  ssh: { identityFile: ${JSON.stringify(path.join(sandboxDir, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(path.join(sandboxDir, 'known_hosts'))} },
};\n`,
  );
  writeHosts(sb, ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app']);
  await $({
    cwd: project,
    env: { ...process.env, CI: 'true', APP_SECRET: 'drain-bench-secret-7f1c' },
  })`node ${bin} prod v1.0.0`;
  await new Promise((res) => setTimeout(res, 2500));
  results.haproxyDeploy = await underLoad(sb.haproxy.port, ['prod', 'v1.1.0']);
  results.haproxyRollback = await underLoad(sb.haproxy.port, ['rollback', 'prod', '--last']);
  writeHosts(sb, ['lb:', '  driver: none']);
  results.noneDeploy = await underLoad(sb.haproxy.port, ['prod', 'v1.2.0']);
} finally {
  await $({ cwd: root })`zx scripts/sandbox.mjs down --dir ${sandboxDir}`;
  await fs.remove(work);
}
await fs.mkdirp(path.join(root, 'bench', 'results'));
await fs.writeJson(
  path.join(root, 'bench', 'results', 'drain.json'),
  { date: new Date().toISOString(), nodes: 4, ...results },
  { spaces: 2 },
);
for (const [name, r] of Object.entries(results))
  console.log(`${name.padEnd(16)} ${r.failures} failed of ${r.requests} requests (${r.rate} req/s through HAProxy)`);
