#!/usr/bin/env zx
// npm run bench: relink on a 10-node sandbox with a ~20 MB release of
// incompressible data. Every figure is the median of several runs of the real
// CLI, wall time from spawn to exit, excluding nothing; after every step each
// node is asked over HTTP which version it serves.
//
//   zx bench/run.mjs [--nodes 10] [--runs 3] [--mb 20]
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { $, argv, fs, path } from 'zx';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'bench', 'work');
const nodes = Number(argv.nodes ?? 10);
const runs = Number(argv.runs ?? 3);
const mb = Number(argv.mb ?? 20);
const bin = path.join(root, 'dist', 'bin', 'deploy.js');
const sandboxDir = path.join(work, 'sandbox');
const project = path.join(work, 'project');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function setup() {
  await fs.remove(work);
  await fs.mkdirp(work);
  await $({ cwd: root, stdio: 'inherit' })`zx scripts/sandbox.mjs up --nodes ${nodes} --dir ${sandboxDir} --ssh-port 2401 --app-port 8401 --lb-port 8480`;
  const sb = await fs.readJson(path.join(sandboxDir, 'sandbox.json'));
  await $({ cwd: root })`zx scripts/example-repo.mjs --dir ${path.join(project, 'app')}`;
  const repo = path.join(project, 'app');
  // ~20 MB that gzip cannot shrink, added before the first tag is moved onto it.
  await fs.mkdirp(path.join(repo, 'assets'));
  for (let i = 0; i < mb; i++) await fs.writeFile(path.join(repo, 'assets', `blob-${i}.bin`), crypto.randomBytes(1024 * 1024));
  await $({ cwd: repo })`git add -A`;
  await $({ cwd: repo })`git commit -q -m ${'add assets'}`;
  for (const tag of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
    await fs.appendFile(path.join(repo, 'CHANGELOG.md'), `- bench ${tag}\n`);
    await $({ cwd: repo })`git commit -qam ${`bench ${tag}`}`;
    await $({ cwd: repo })`git tag -f -a ${`bench-${tag}`} -m ${tag}`;
  }
  await fs.mkdirp(path.join(project, 'hosts'));
  await fs.mkdirp(path.join(project, 'templates'));
  await fs.copy(path.join(root, 'templates', 'app.env'), path.join(project, 'templates', 'app.env'));
  await fs.writeFile(
    path.join(project, 'hosts', 'prod.yaml'),
    ['pre: node1', 'groupSize: "25%"', 'hosts:', ...sb.nodes.map((n) => `  - { name: ${n.name}, address: 127.0.0.1, port: ${n.sshPort}, user: root, vars: { appPort: ${n.appPort} } }`)].join('\n') + '\n',
  );
  await fs.writeFile(
    path.join(project, 'deploy.config.ts'),
    `export default {
  project: 'bench',
  repo: './app',
  deployTo: process.env.BENCH_DEPLOY_TO ?? '/srv/bench',
  build: { command: 'node build.mjs' },
  shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: { greeting: 'bench' },
  secrets: ['APP_SECRET'],
  restart: { command: 'sh bin/restart.sh' },
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"', retries: 50, intervalMs: 50 },
  rollout: { parallel: ${nodes} },
  ssh: { identityFile: ${JSON.stringify(path.join(sandboxDir, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(path.join(sandboxDir, 'known_hosts'))} },
};
`,
  );
  return sb;
}

function cli(args, deployTo) {
  const started = process.hrtime.bigint();
  const result = spawnSync('node', [bin, ...args], { cwd: project, env: { ...process.env, CI: 'true', APP_SECRET: 'bench-secret', BENCH_DEPLOY_TO: deployTo }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`deploy ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return ms;
}

// An emergency rollback has no smoke gate: a node may need a moment to listen again.
async function verify(sb, version) {
  for (const node of sb.nodes) {
    let body = '';
    for (let i = 0; i < 100 && !body.includes(`"version":"${version}"`); i++) {
      body = await fetch(`http://127.0.0.1:${node.appPort}/health`).then((r) => r.text(), (e) => `error: ${e.cause?.code ?? e.message}`);
      if (!body.includes(`"version":"${version}"`)) await new Promise((r) => setTimeout(r, 50));
    }
    if (!body.includes(`"version":"${version}"`)) throw new Error(`${node.name} serves ${body}, expected ${version}`);
  }
}

function stopApps(sb) {
  for (const node of sb.nodes) {
    execFileSync('ssh', ['-i', path.join(sandboxDir, 'id_ed25519'), '-o', `UserKnownHostsFile=${path.join(sandboxDir, 'known_hosts')}`, '-p', String(node.sshPort), 'root@127.0.0.1', "pkill -9 -f '[s]erver[.]js' || true"]);
  }
}

const sb = await setup();
const results = { nodes, runs, releaseMB: mb, date: new Date().toISOString(), figures: {} };
const record = (name, samples) => {
  results.figures[name] = { median: median(samples), samples };
  console.log(`${name.padEnd(34)} median ${(median(samples) / 1000).toFixed(2)} s  (${samples.map((s) => (s / 1000).toFixed(2)).join(', ')})`);
};

try {
  // Cold: nothing on the nodes yet; a fresh deployTo each run. The build is cached after the first.
  cli(['plan', 'prod', 'bench-v1.0.0'], '/srv/bench-warmup');
  const cold = [];
  for (let i = 0; i < runs; i++) {
    stopApps(sb);
    cold.push(cli(['prod', 'bench-v1.0.0'], `/srv/bench-cold-${i}`));
    await verify(sb, 'bench-v1.0.0');
  }
  record(`cold deploy, ${nodes} nodes`, cold);

  // Warm: the nodes have the previous release; the next tag changes one small file.
  const deployTo = `/srv/bench-cold-${runs - 1}`;
  const warm = [];
  const versions = ['bench-v1.1.0', 'bench-v1.2.0', 'bench-v1.1.0', 'bench-v1.2.0'].slice(0, runs);
  for (const v of versions) {
    warm.push(cli(['prod', v], deployTo));
    await verify(sb, v);
  }
  record(`warm deploy, ${nodes} nodes`, warm);

  // Normal rollback (pre first, groups, smoke tests), then back forward with --to.
  const normal = [];
  const emergency = [];
  for (let i = 0; i < runs; i++) {
    const current = versions.at(-1);
    normal.push(cli(['rollback', 'prod', '--last'], deployTo));
    const back = (await (await fetch(`http://127.0.0.1:${sb.nodes[0].appPort}/health`)).json()).version;
    await verify(sb, back);
    emergency.push(cli(['rollback', 'prod', '--to', current, '--emergency'], deployTo));
    await verify(sb, current);
  }
  record(`rollback --last, ${nodes} nodes`, normal);
  record(`rollback --emergency, ${nodes} nodes`, emergency);

  const help = [];
  for (let i = 0; i < 11; i++) {
    const started = process.hrtime.bigint();
    spawnSync('node', [bin, '--help'], { encoding: 'utf8' });
    help.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  record('deploy --help', help);
  const bare = [];
  for (let i = 0; i < 11; i++) {
    const started = process.hrtime.bigint();
    spawnSync('node', ['-e', '0']);
    bare.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  record('node -e 0 (for reference)', bare);
} finally {
  stopApps(sb);
  await $({ cwd: root })`zx scripts/sandbox.mjs down --dir ${sandboxDir}`;
}

await fs.mkdirp(path.join(root, 'bench', 'results'));
await fs.writeJson(path.join(root, 'bench', 'results', 'latest.json'), results, { spaces: 2 });
const table = [
  `# relink benchmark`,
  '',
  `${results.date}: ${nodes} sandbox nodes, ${mb} MB release of incompressible data, medians of ${runs} runs (help: 11), wall time of the CLI from spawn to exit.`,
  '',
  '| figure | median | runs |',
  '| --- | --- | --- |',
  ...Object.entries(results.figures).map(([name, f]) => `| ${name} | ${(f.median / 1000).toFixed(3)} s | ${f.samples.map((s) => (s / 1000).toFixed(3)).join(', ')} |`),
  '',
];
await fs.writeFile(path.join(root, 'bench', 'results', 'latest.md'), table.join('\n'));
console.log(`\nwritten: bench/results/latest.json, bench/results/latest.md`);
