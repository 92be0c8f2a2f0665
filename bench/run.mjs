#!/usr/bin/env zx
// npm run bench: relink (with HAProxy drain and a smoke test on every node,
// and once with no load balancer) against Capistrano 3 and shipit on one
// sandbox cluster, in alternation, with a 20 MB release of incompressible
// data in a real git repository with tags. Every figure is the wall time of
// the real command from spawn to exit (median of --runs), its CPU (user+sys,
// children included) and peak RSS (every process of the command added up); after every step each node is asked which
// version it serves. Beside each relink figure: the floor for that step on
// this machine. Then one loaded pass: failed requests at 200 req/s through
// HAProxy during a deploy and a rollback of each tool. Writes
// bench/results/latest.{json,md} and bench/results/figures.svg; the peers'
// setups are described in bench/peers/README.md.
//
// The "before" column is relink as it was before the data-path work (commit
// --before, default 42ec4b7), built from this repository's history into
// bench/work/before and run on the same cluster in the same alternation.
//
//   zx bench/run.mjs [--nodes 10] [--scale 50] [--runs 3] [--mb 20] [--no-peers] [--before <rev> | --no-before]
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { $, argv, fs, path } from 'zx';
import { buildBefore } from './before.mjs';
import { chart, floorsOf, markdown } from './report.mjs';
import { startLoad } from './load.mjs';

/** What the failed requests of a loaded pass were, by kind: ` (status 503: 2, ECONNRESET: 1)`, or nothing. */
const kinds = (pass) => {
  const all = Object.entries(pass.kinds ?? {});
  return all.length ? ` (${all.map(([kind, n]) => `${kind}: ${n}`).join(', ')})` : '';
};

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'bench', 'work');
const nodes = Number(argv.nodes ?? 10);
const scale = Number(argv.scale ?? 50);
const runs = Number(argv.runs ?? 3);
const mb = Number(argv.mb ?? 20);
const peers = argv.peers !== false;
const before = argv.before === false ? undefined : String(argv.before ?? '42ec4b7');
const bin = path.join(root, 'dist', 'bin', 'deploy.js');
const rollbackBin = path.join(root, 'dist', 'bin', 'rollback.js');
const treeRss = path.join(root, 'bench', 'tree-rss.mjs');
const sandboxDir = path.join(work, 'sandbox');
const repo = path.join(work, 'app');
const project = path.join(work, 'relink-project');
const TAGS = ['bench-v1.0.0', 'bench-v1.1.0', 'bench-v1.2.0', 'bench-v1.3.0'];
// A real random value: the redactor would blank out any short common word used as a secret.
const secret = crypto.randomBytes(12).toString('hex');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const secs = (ms) => (ms / 1000).toFixed(2);

async function ensureTools() {
  const missing = [];
  if (!fs.existsSync('/usr/bin/cap') && peers) missing.push('capistrano');
  if (!fs.existsSync('/usr/sbin/iptables')) missing.push('iptables');
  if (!fs.existsSync('/usr/bin/time')) missing.push('time');
  if (missing.length) {
    console.log(`installing ${missing.join(', ')} ...`);
    await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq ${missing}`;
  }
  if (before) await buildBefore(root, before, path.join(work, 'before'));
  if (peers) {
    const dir = path.join(work, 'peers', 'shipit');
    await fs.copy(path.join(root, 'bench', 'peers', 'shipit'), dir);
    await $({ cwd: dir })`npm install --no-audit --no-fund --silent`;
    await fs.copy(path.join(root, 'bench', 'peers', 'capistrano'), path.join(work, 'peers', 'capistrano'));
  }
}

async function makeRepo() {
  await $({ cwd: root })`zx scripts/example-repo.mjs --dir ${repo}`;
  await fs.mkdirp(path.join(repo, 'assets'));
  for (let i = 0; i < mb; i++) {
    await fs.writeFile(path.join(repo, 'assets', `blob-${i}.bin`), crypto.randomBytes(1024 * 1024));
  }
  await $({ cwd: repo })`git add -A`;
  await $({ cwd: repo })`git commit -q -m ${'add assets'}`;
  // Each tag changes one 1 MiB asset (and its changelog line): a warm deploy ships one changed file.
  for (const tag of TAGS) {
    await fs.writeFile(path.join(repo, 'assets', 'blob-0.bin'), crypto.randomBytes(1024 * 1024));
    await fs.appendFile(path.join(repo, 'CHANGELOG.md'), `- ${tag}\n`);
    await $({ cwd: repo })`git commit -qam ${tag}`;
    await $({ cwd: repo })`git tag -a ${tag} -m ${tag}`;
  }
}

/** relink's project: env `prod` behind HAProxy (drain, smoke on every node), env `nolb` with no load balancer. */
async function makeProject(sb, count) {
  await fs.mkdirp(path.join(project, 'hosts'));
  await fs.mkdirp(path.join(project, 'templates'));
  await fs.copy(path.join(root, 'templates', 'app.env'), path.join(project, 'templates', 'app.env'));
  const hosts = sb.nodes.slice(0, count).map((n) => {
    const where = `address: ${n.address}, port: ${n.sshPort}, user: root`;
    return `  - { name: ${n.name}, ${where}, vars: { appPort: ${n.appPort} } }`;
  });
  const lb = ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, `  backend: ${sb.haproxy.backend}`];
  const inventory = (extra) => `${['pre: node1', 'groupSize: "25%"', ...extra, 'hosts:', ...hosts].join('\n')}\n`;
  await fs.writeFile(path.join(project, 'hosts', 'prod.yaml'), inventory(lb));
  await fs.writeFile(path.join(project, 'hosts', 'nolb.yaml'), inventory(['lb: { driver: none }']));
  const ssh = `{ identityFile: ${JSON.stringify(path.join(sandboxDir, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(path.join(sandboxDir, 'known_hosts'))} }`;
  await fs.writeFile(
    path.join(project, 'deploy.config.ts'),
    `export default {
  project: 'bench',
  repo: ${JSON.stringify(repo)},
  deployTo: process.env.BENCH_DEPLOY_TO ?? '/srv/relink',
  build: { command: 'node build.mjs' },
  shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: { greeting: 'bench' },
  secrets: ['APP_SECRET'],
  restart: { command: 'sh bin/restart.sh' },
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"', retries: 100, intervalMs: 50 },
  rollout: { parallel: 50, upload: 'rsync' },
  ssh: ${ssh},
};
`,
  );
}

const sshArgs = (node) => [
  '-i',
  path.join(sandboxDir, 'id_ed25519'),
  '-o',
  `UserKnownHostsFile=${path.join(sandboxDir, 'known_hosts')}`,
  '-o',
  'BatchMode=yes',
  '-p',
  String(node.sshPort),
  `root@${node.address}`,
];
const onNode = (node, command) => execFileSync('ssh', [...sshArgs(node), command], { encoding: 'utf8' });
const stopApps = (sb, count = nodes) => {
  for (const node of sb.nodes.slice(0, count)) onNode(node, "pkill -9 -f '[s]erver[.]js' || true");
};

/** The peers have no per-node templates: their app.env is a shared file made once per node. */
function seedShared(sb, deployTo, count) {
  for (const node of sb.nodes.slice(0, count)) {
    const env = `printf 'PORT=${node.appPort}\\nGREETING=bench\\n' > ${deployTo}/shared/app.env`;
    onNode(node, `mkdir -p ${deployTo}/shared/log && ${env}`);
  }
}

// Bytes sent to the nodes' sshd ports, counted by the kernel.
function resetBytes() {
  spawnSync('iptables', ['-D', 'OUTPUT', '-p', 'tcp', '--dport', '2401:2600', '-j', 'ACCEPT']);
  spawnSync('iptables', ['-I', 'OUTPUT', '-p', 'tcp', '--dport', '2401:2600', '-j', 'ACCEPT']);
}
function readBytes() {
  const out = spawnSync('iptables', ['-L', 'OUTPUT', '-v', '-x', '-n'], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.includes('dpts:2401:2600'));
  return line ? Number(line.trim().split(/\s+/)[1]) : Number.NaN;
}

/** Runs a command under /usr/bin/time: wall ms, CPU ms (user+sys, children too), peak RSS in KB, bytes sent. */
function timed(cmd, args, options) {
  resetBytes();
  const started = process.hrtime.bigint();
  const rssFile = path.join(work, 'tree-rss');
  const result = spawnSync('node', [treeRss, rssFile, '/usr/bin/time', '-f', '%M %U %S', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    ...options,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    const tail = `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`;
    throw new Error(`${cmd} ${args.join(' ')} failed (${result.status}):\n${tail}`);
  }
  const [rss, user, sys] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  // rssKb: the largest single process (as /usr/bin/time counts it); treeKb: the command and every process it
  // started, added up, at the worst moment (tree-rss.mjs).
  const treeKb = Number(fs.readFileSync(rssFile, 'utf8'));
  return { ms, cpuMs: (user + sys) * 1000, rssKb: rss, treeKb, bytes: readBytes() };
}

async function verify(sb, count, version) {
  for (const node of sb.nodes.slice(0, count)) {
    let body = '';
    for (let i = 0; i < 200 && !body.includes(`"version":"${version}"`); i++) {
      body = await fetch(`http://127.0.0.1:${node.appPort}/health`).then(
        (r) => r.text(),
        (e) => `error: ${e.cause?.code ?? e.message}`,
      );
      if (!body.includes(`"version":"${version}"`)) await new Promise((r) => setTimeout(r, 50));
    }
    if (!body.includes(`"version":"${version}"`)) {
      throw new Error(`${node.name} serves ${body.slice(0, 100)}, expected ${version}`);
    }
  }
}

/**
 * The emergency rollback done by hand, as a competent shell user would: one
 * OpenSSH connection per node, all at once, each relinking `current` to the
 * previous release and restarting the app.
 */
function shellLoop(sb, deployTo, release) {
  const script = sb.nodes
    .slice(0, nodes)
    .map((n) => {
      const remote = `cd ${deployTo} && ln -sfn releases/${release} current.tmp && mv -Tf current.tmp current && cd current && RELINK_DEPLOY_TO=${deployTo} sh bin/restart.sh`;
      return `ssh ${sshArgs(n).join(' ')} '${remote}' &`;
    })
    .join('\n');
  return timed('sh', ['-c', `${script}\nwait`], {});
}

// One tool = how it deploys and rolls back; relink also rolls back in an emergency.
function tools(sb, count) {
  const base = {
    ...process.env,
    CI: 'true',
    BENCH_SANDBOX: sandboxDir,
    // As production reaches a git server: over a protocol that transfers packs (file:// on one machine), not a
    // plain path, which would let every node's clone hard-link the objects.
    BENCH_REPO: `file://${repo}`,
    BENCH_WORK: work,
    BENCH_NODES: String(count),
    APP_SECRET: secret,
  };
  const relink = (name, env, bins = { deploy: bin, rollback: rollbackBin }) => ({
    name,
    deploy: (deployTo, tag) =>
      timed('node', [bins.deploy, env, tag], { cwd: project, env: { ...base, BENCH_DEPLOY_TO: deployTo } }),
    rollback: (deployTo) =>
      timed('node', [bins.rollback, env, '--last'], { cwd: project, env: { ...base, BENCH_DEPLOY_TO: deployTo } }),
    emergency: (deployTo) =>
      timed('node', [bins.rollback, env, '--last', '--emergency'], {
        cwd: project,
        env: { ...base, BENCH_DEPLOY_TO: deployTo },
      }),
  });
  const old = path.join(work, 'before', 'dist', 'bin');
  const list = [
    relink('relink', 'prod'),
    relink('relink-nolb', 'nolb'),
    ...(before
      ? [relink('relink-before', 'prod', { deploy: `${old}/deploy.js`, rollback: `${old}/rollback.js` })]
      : []),
  ];
  if (!peers) return list;
  const cap = path.join(work, 'peers', 'capistrano');
  const shipit = path.join(work, 'peers', 'shipit', 'node_modules', '.bin', 'shipit');
  const shipitDir = path.join(work, 'peers', 'shipit');
  const peer = (name, command, deployArgs, rollbackArgs, cwd) => ({
    name,
    prepare: (deployTo) => seedShared(sb, deployTo, count),
    deploy: (deployTo, tag) =>
      timed(command, deployArgs, { cwd, env: { ...base, BENCH_DEPLOY_TO: deployTo, TAG: tag } }),
    rollback: (deployTo) =>
      timed(command, rollbackArgs, { cwd, env: { ...base, BENCH_DEPLOY_TO: deployTo, TAG: TAGS[0] } }),
  });
  return [
    ...list,
    peer('capistrano', 'cap', ['bench', 'deploy'], ['bench', 'deploy:rollback'], cap),
    peer('shipit', shipit, ['bench', 'deploy'], ['bench', 'rollback'], shipitDir),
  ];
}

/** What bounds each step on this machine: one connect, bytes over one SSH stream, the app's own restart. */
async function measureFloors(sb) {
  const node = sb.nodes[0];
  // With the algorithms relink's SSH client negotiates here (AES-GCM on a CPU with AES instructions,
  // curve25519); OpenSSH's defaults on this Debian (chacha20-poly1305, sntrup761x25519) cost ~4x the
  // CPU for the same bytes.
  const fast = ['-c', 'aes128-gcm@openssh.com', '-o', 'KexAlgorithms=curve25519-sha256'];
  const connects = [];
  for (let i = 0; i < 5; i++) connects.push(timed('ssh', [...fast, ...sshArgs(node), 'true'], {}).ms);
  const blob = path.join(work, 'floor.bin');
  await fs.writeFile(blob, crypto.randomBytes(mb * 1024 * 1024));
  // Every node's bytes at once, each over its own OpenSSH stream: what this machine can push in all.
  const all = sb.nodes
    .slice(0, nodes)
    .map((n) => `ssh ${fast.join(' ')} ${sshArgs(n).join(' ')} 'cat > /dev/null' < ${blob} &`)
    .join('\n');
  const streams = [];
  for (let i = 0; i < 3; i++) streams.push(timed('sh', ['-c', `${all}\nwait`], {}).ms - median(connects));
  // The app's own restart, by hand on one node, until it answers with its version.
  const restarts = [];
  const current = '/srv/floor/current';
  onNode(node, `rm -rf /srv/floor && mkdir -p /srv/floor/releases && cp -a ${repo} /srv/floor/releases/r1`);
  onNode(
    node,
    `cd /srv/floor/releases/r1 && RELINK_VERSION=floor node build.mjs >/dev/null && ln -sfn releases/r1 ${current}`,
  );
  onNode(node, `printf 'PORT=${node.appPort}\\n' > /srv/floor/releases/r1/app.env`);
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    onNode(node, `cd ${current} && RELINK_DEPLOY_TO=/srv/floor sh bin/restart.sh`);
    await verify({ nodes: [node] }, 1, 'floor');
    restarts.push(Number(process.hrtime.bigint() - t) / 1e6 - median(connects));
  }
  onNode(node, "pkill -9 -f '[s]erver[.]js' || true; rm -rf /srv/floor");
  return { connectMs: median(connects), streamMs: median(streams), restartMs: median(restarts) };
}

/** Failed requests at 200 req/s through HAProxy while each tool deploys and rolls back. */
async function loadedPass(sb, list) {
  const out = {};
  for (const tool of list) {
    const deployTo = `/srv/${tool.name}-loaded`;
    stopApps(sb);
    tool.prepare?.(deployTo);
    tool.deploy(deployTo, TAGS[0]);
    await verify(sb, nodes, TAGS[0]);
    await new Promise((r) => setTimeout(r, 2500)); // HAProxy's checks see every node up
    const under = async (work) => {
      const load = startLoad(`http://127.0.0.1:${sb.lbPort}/`, 200);
      await new Promise((r) => setTimeout(r, 500));
      await work();
      await new Promise((r) => setTimeout(r, 1500));
      return load.stop();
    };
    const deploy = await under(async () => tool.deploy(deployTo, TAGS[1]));
    await verify(sb, nodes, TAGS[1]);
    await new Promise((r) => setTimeout(r, 2500));
    const rollback = await under(async () => tool.rollback(deployTo));
    await verify(sb, nodes, TAGS[0]);
    out[tool.name] = { deploy, rollback };
    console.log(
      `loaded ${tool.name}: failed requests deploy ${deploy.failures}/${deploy.requests}${kinds(deploy)}, rollback ${rollback.failures}/${rollback.requests}${kinds(rollback)}`,
    );
  }
  return out;
}

const results = { date: new Date().toISOString(), nodes, scale, runs, releaseMB: mb, before, figures: {} };
const add = (tool, figure, sample) => {
  results.figures[tool] ??= {};
  results.figures[tool][figure] ??= [];
  results.figures[tool][figure].push(sample);
};

await fs.remove(work);
await fs.mkdirp(work);
await ensureTools();
const size = ['--nodes', Math.max(nodes, scale), '--dir', sandboxDir, '--ssh-port', 2401, '--app-port', 8401];
await $({ cwd: root, stdio: 'inherit' })`zx scripts/sandbox.mjs up ${size} --lb-port 8480 --haproxy-rise 2`;
const sb = await fs.readJson(path.join(sandboxDir, 'sandbox.json'));
try {
  await makeRepo();
  await makeProject(sb, nodes);
  const list = tools(sb, nodes);
  // Warm-up: relink's git mirror. Builds are measured: every tool builds inside its deploy.
  spawnSync('node', [bin, 'plan', 'prod', TAGS[0]], {
    cwd: project,
    env: { ...process.env, APP_SECRET: secret, BENCH_DEPLOY_TO: '/srv/warmup' },
  });
  results.floors = await measureFloors(sb);

  for (let run = 0; run < runs; run++) {
    for (const tool of list) {
      const deployTo = `/srv/${tool.name}-${run}`;
      stopApps(sb);
      tool.prepare?.(deployTo);
      const cold = tool.deploy(deployTo, TAGS[0]);
      await verify(sb, nodes, TAGS[0]);
      add(tool.name, 'cold', cold.ms);
      add(tool.name, 'coldCpuMs', cold.cpuMs);
      add(tool.name, 'coldRssKb', cold.treeKb);
      stopApps(sb);
      const warm = tool.deploy(deployTo, TAGS[1]);
      await verify(sb, nodes, TAGS[1]);
      add(tool.name, 'warm', warm.ms);
      add(tool.name, 'warmBytesPerNode', warm.bytes / nodes);
      add(tool.name, 'warmCpuMs', warm.cpuMs);
      const back = tool.rollback(deployTo);
      await verify(sb, nodes, TAGS[0]);
      add(tool.name, 'rollback', back.ms);
      if (tool.emergency) {
        tool.deploy(deployTo, TAGS[2]);
        await verify(sb, nodes, TAGS[2]);
        const e = tool.emergency(deployTo);
        await verify(sb, nodes, TAGS[0]);
        add(tool.name, 'emergency', e.ms);
        if (tool.name === 'relink') {
          // The same work by hand over OpenSSH, in the same run: forward to TAGS[2], then the loop back.
          tool.deploy(deployTo, TAGS[2]);
          await verify(sb, nodes, TAGS[2]);
          const release = onNode(sb.nodes[0], `readlink ${deployTo}/current`).trim().replace('releases/', '');
          const previous = onNode(sb.nodes[0], `ls ${deployTo}/releases`)
            .trim()
            .split('\n')
            .find((r) => r.includes('_bench-v1.0.0_'));
          const loop = shellLoop(sb, deployTo, previous);
          await verify(sb, nodes, TAGS[0]);
          add('shell-loop', 'emergency', loop.ms);
          if (!release) throw new Error('no current release before the shell loop');
        }
      }
      console.log(
        `run ${run + 1}/${runs} ${tool.name}: cold ${secs(cold.ms)} s, warm ${secs(warm.ms)} s, rollback ${secs(back.ms)} s`,
      );
    }
  }
  results.loaded = await loadedPass(
    sb,
    list.filter((t) => t.name !== 'relink-nolb'),
  );

  // How cost grows with the node count (relink without a load balancer: distribution, not health checks).
  if (scale > nodes) {
    for (const count of [nodes, scale]) {
      await makeProject(sb, count);
      for (let run = 0; run < runs; run++) {
        stopApps(sb, count);
        const r = tools(sb, count)[1].deploy(`/srv/scale-${count}-${run}`, TAGS[0]);
        await verify(sb, count, TAGS[0]);
        add('relink-nolb', `cold${count}`, r.ms);
      }
      console.log(
        `relink cold deploy to ${count} nodes: median ${secs(median(results.figures['relink-nolb'][`cold${count}`]))} s`,
      );
    }
  }
  // Where relink's warm-deploy CPU goes: one more warm deploy, profiled (bench/profile.mjs), its summary kept.
  {
    const deployTo = '/srv/relink-profile';
    const env = { ...process.env, CI: 'true', APP_SECRET: secret, BENCH_DEPLOY_TO: deployTo };
    stopApps(sb, nodes);
    await makeProject(sb, nodes);
    tools(sb, nodes)[0].deploy(deployTo, TAGS[0]);
    await verify(sb, nodes, TAGS[0]);
    const profiled = spawnSync(
      'node',
      [path.join(root, 'bench', 'profile.mjs'), '--top', '15', '--', bin, 'prod', TAGS[1]],
      {
        cwd: project,
        env,
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    await verify(sb, nodes, TAGS[1]);
    results.profile = profiled.stdout.slice(profiled.stdout.lastIndexOf('\nexit ') + 1).trim();
  }
  const help = [];
  for (let i = 0; i < 11; i++) {
    const t = process.hrtime.bigint();
    spawnSync('node', [bin, '--help']);
    help.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  results.figures.relink.help = help;
} finally {
  stopApps(sb, Math.max(nodes, scale));
  spawnSync('iptables', ['-D', 'OUTPUT', '-p', 'tcp', '--dport', '2401:2600', '-j', 'ACCEPT']);
  await $({ cwd: root })`zx scripts/sandbox.mjs down --dir ${sandboxDir}`;
}

results.floorsPerStep = floorsOf(results, nodes);
const md = markdown(results, median);
await fs.mkdirp(path.join(root, 'bench', 'results'));
await fs.writeJson(path.join(root, 'bench', 'results', 'latest.json'), results, { spaces: 2 });
await fs.writeFile(path.join(root, 'bench', 'results', 'latest.md'), md);
await fs.writeFile(path.join(root, 'bench', 'results', 'figures.svg'), chart(results, median));
console.log(`\n${md}\nwritten: bench/results/latest.json, latest.md, figures.svg`);
