#!/usr/bin/env zx
// npm run bench: relink against Capistrano 3 and shipit on the same sandbox
// cluster, in alternation, with a ~20 MB release of incompressible data in a
// real git repository with tags. Every figure is the wall time of the real
// command from spawn to exit, median of --runs; after every step each node is
// asked over HTTP which version it serves. Writes bench/results/latest.{json,md}
// and an SVG of deploy time against node count.
//
//   zx bench/run.mjs [--nodes 10] [--scale 50] [--runs 3] [--mb 20] [--no-peers]
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { $, argv, fs, path } from 'zx';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'bench', 'work');
const nodes = Number(argv.nodes ?? 10);
const scale = Number(argv.scale ?? 50);
const runs = Number(argv.runs ?? 3);
const mb = Number(argv.mb ?? 20);
const peers = argv.peers !== false;
const bin = path.join(root, 'dist', 'bin', 'deploy.js');
const rollbackBin = path.join(root, 'dist', 'bin', 'rollback.js');
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
  for (let i = 0; i < mb; i++)
    await fs.writeFile(path.join(repo, 'assets', `blob-${i}.bin`), crypto.randomBytes(1024 * 1024));
  await $({ cwd: repo })`git add -A`;
  await $({ cwd: repo })`git commit -q -m ${'add assets'}`;
  // Each tag changes one small file: a warm deploy ships one changed file.
  for (const tag of TAGS) {
    await fs.appendFile(path.join(repo, 'CHANGELOG.md'), `- ${tag}\n`);
    await $({ cwd: repo })`git commit -qam ${tag}`;
    await $({ cwd: repo })`git tag -a ${tag} -m ${tag}`;
  }
}

async function makeProject(sb, count) {
  await fs.mkdirp(path.join(project, 'hosts'));
  await fs.mkdirp(path.join(project, 'templates'));
  await fs.copy(path.join(root, 'templates', 'app.env'), path.join(project, 'templates', 'app.env'));
  await fs.writeFile(
    path.join(project, 'hosts', 'prod.yaml'),
    `${[
      'pre: node1',
      'groupSize: "25%"',
      'hosts:',
      ...sb.nodes
        .slice(0, count)
        .map(
          (n) =>
            `  - { name: ${n.name}, address: ${n.address}, port: ${n.sshPort}, user: root, vars: { appPort: ${n.appPort} } }`,
        ),
    ].join('\n')}\n`,
  );
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
  ssh: { identityFile: ${JSON.stringify(path.join(sandboxDir, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(path.join(sandboxDir, 'known_hosts'))} },
};
`,
  );
}

function onNode(node, command) {
  return execFileSync(
    'ssh',
    [
      '-i',
      path.join(sandboxDir, 'id_ed25519'),
      '-o',
      `UserKnownHostsFile=${path.join(sandboxDir, 'known_hosts')}`,
      '-o',
      'BatchMode=yes',
      '-p',
      String(node.sshPort),
      `root@${node.address}`,
      command,
    ],
    { encoding: 'utf8' },
  );
}

function stopApps(sb, count = nodes) {
  for (const node of sb.nodes.slice(0, count)) onNode(node, "pkill -9 -f '[s]erver[.]js' || true");
}

/** The peers have no per-node templates: their app.env is a shared file made once per node. */
function seedShared(sb, deployTo, count) {
  for (const node of sb.nodes.slice(0, count))
    onNode(
      node,
      `mkdir -p ${deployTo}/shared/log && printf 'PORT=${node.appPort}\\nGREETING=bench\\n' > ${deployTo}/shared/app.env`,
    );
}

// Bytes sent to the nodes' sshd ports, counted by the kernel.
function resetBytes() {
  spawnSync('iptables', ['-D', 'OUTPUT', '-p', 'tcp', '--dport', '2401:2600', '-j', 'ACCEPT']);
  spawnSync('iptables', ['-I', 'OUTPUT', '-p', 'tcp', '--dport', '2401:2600', '-j', 'ACCEPT']);
}
function readBytes() {
  const out = spawnSync('iptables', ['-L', 'OUTPUT', '-v', '-x', '-n'], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.includes('dpts:2401:2600'));
  return line ? Number(line.trim().split(/\s+/)[1]) : NaN;
}

/** Runs a command under /usr/bin/time: wall ms, peak RSS in KB, bytes to the nodes. */
function timed(cmd, args, options) {
  resetBytes();
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    ...options,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${result.status}):\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`,
    );
  const rssKb = Number(result.stderr.trim().split('\n').pop());
  return { ms, rssKb, bytes: readBytes() };
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
    if (!body.includes(`"version":"${version}"`))
      throw new Error(`${node.name} serves ${body.slice(0, 100)}, expected ${version}`);
  }
}

// One tool = how it deploys, rolls back and (relink only) rolls back in an emergency.
function tools(sb, count) {
  const base = {
    ...process.env,
    CI: 'true',
    BENCH_SANDBOX: sandboxDir,
    BENCH_REPO: repo,
    BENCH_WORK: work,
    BENCH_NODES: String(count),
    APP_SECRET: secret,
  };
  const relinkTool = {
    name: 'relink',
    deploy: (deployTo, tag) =>
      timed('node', [bin, 'prod', tag], { cwd: project, env: { ...base, BENCH_DEPLOY_TO: deployTo } }),
    rollback: (deployTo) =>
      timed('node', [rollbackBin, 'prod', '--last'], { cwd: project, env: { ...base, BENCH_DEPLOY_TO: deployTo } }),
    emergency: (deployTo) =>
      timed('node', [rollbackBin, 'prod', '--last', '--emergency'], {
        cwd: project,
        env: { ...base, BENCH_DEPLOY_TO: deployTo },
      }),
  };
  if (!peers) return [relinkTool];
  const cap = path.join(work, 'peers', 'capistrano');
  const shipitDir = path.join(work, 'peers', 'shipit');
  return [
    relinkTool,
    {
      name: 'capistrano',
      prepare: (deployTo) => seedShared(sb, deployTo, count),
      deploy: (deployTo, tag) =>
        timed('cap', ['bench', 'deploy'], { cwd: cap, env: { ...base, BENCH_DEPLOY_TO: deployTo, TAG: tag } }),
      rollback: (deployTo) =>
        timed('cap', ['bench', 'deploy:rollback'], {
          cwd: cap,
          env: { ...base, BENCH_DEPLOY_TO: deployTo, TAG: TAGS[0] },
        }),
    },
    {
      name: 'shipit',
      prepare: (deployTo) => seedShared(sb, deployTo, count),
      deploy: (deployTo, tag) =>
        timed(path.join(shipitDir, 'node_modules', '.bin', 'shipit'), ['bench', 'deploy'], {
          cwd: shipitDir,
          env: { ...base, BENCH_DEPLOY_TO: deployTo, TAG: tag },
        }),
      rollback: (deployTo) =>
        timed(path.join(shipitDir, 'node_modules', '.bin', 'shipit'), ['bench', 'rollback'], {
          cwd: shipitDir,
          env: { ...base, BENCH_DEPLOY_TO: deployTo, TAG: TAGS[0] },
        }),
    },
  ];
}

const results = { date: new Date().toISOString(), nodes, scale, runs, releaseMB: mb, figures: {} };
const add = (tool, figure, sample) => {
  results.figures[tool] ??= {};
  const t = results.figures[tool];
  t[figure] ??= [];
  t[figure].push(sample);
};

await fs.remove(work);
await fs.mkdirp(work);
await ensureTools();
await $({
  cwd: root,
  stdio: 'inherit',
})`zx scripts/sandbox.mjs up --nodes ${Math.max(nodes, scale)} --dir ${sandboxDir} --ssh-port 2401 --app-port 8401 --lb-port 8480`;
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

  for (let run = 0; run < runs; run++) {
    for (const tool of list) {
      const deployTo = `/srv/${tool.name}-${run}`;
      stopApps(sb);
      tool.prepare?.(deployTo);
      const cold = tool.deploy(deployTo, TAGS[0]);
      await verify(sb, nodes, TAGS[0]);
      add(tool.name, 'cold', cold.ms);
      add(tool.name, 'coldRssKb', cold.rssKb);
      add(tool.name, 'coldBytesPerNode', cold.bytes / nodes);
      stopApps(sb);
      const warm = tool.deploy(deployTo, TAGS[1]);
      await verify(sb, nodes, TAGS[1]);
      add(tool.name, 'warm', warm.ms);
      add(tool.name, 'warmBytesPerNode', warm.bytes / nodes);
      stopApps(sb);
      const back = tool.rollback(deployTo);
      await verify(sb, nodes, TAGS[0]);
      add(tool.name, 'rollback', back.ms);
      if (tool.emergency) {
        stopApps(sb);
        tool.deploy(deployTo, TAGS[2]);
        await verify(sb, nodes, TAGS[2]);
        stopApps(sb);
        const e = tool.emergency(deployTo);
        await verify(sb, nodes, TAGS[0]);
        add(tool.name, 'emergency', e.ms);
      }
      console.log(
        `run ${run + 1}/${runs} ${tool.name}: cold ${secs(cold.ms)} s, warm ${secs(warm.ms)} s, rollback ${secs(back.ms)} s`,
      );
    }
  }

  // How cost grows with the node count (relink).
  if (scale > nodes) {
    await makeProject(sb, scale);
    for (const count of [nodes, scale]) {
      await makeProject(sb, count);
      for (let run = 0; run < runs; run++) {
        stopApps(sb, count);
        const r = tools(sb, count)[0].deploy(`/srv/scale-${count}-${run}`, TAGS[0]);
        await verify(sb, count, TAGS[0]);
        add('relink', `cold${count}`, r.ms);
      }
      console.log(
        `relink cold deploy to ${count} nodes: median ${secs(median(results.figures.relink[`cold${count}`]))} s`,
      );
    }
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

// Tables, ratios against each peer in the same run, and the chart.
const m = (tool, figure) => (results.figures[tool]?.[figure] ? median(results.figures[tool][figure]) : undefined);
const rows = [
  ['cold deploy, 10 nodes (s)', 'cold', 1000],
  ['warm deploy, one file changed (s)', 'warm', 1000],
  ['rollback (s)', 'rollback', 1000],
  ['emergency rollback (s)', 'emergency', 1000],
  ['bytes sent per node, warm deploy (KB)', 'warmBytesPerNode', 1024],
  ['peak memory of the deploy process (MB)', 'coldRssKb', 1024],
];
const names = Object.keys(results.figures);
const fmt = (v, div) => (v === undefined ? '-' : (v / div).toFixed(div === 1000 ? 2 : 0));
const md = [
  '# relink benchmark',
  '',
  `${results.date}: ${nodes} sandbox nodes (and ${scale} for scaling), ${mb} MB release of incompressible data, medians of ${runs} runs, each tool in alternation on the same cluster; wall time from spawn to exit; the app restart is included and every node's version is checked after every step.`,
  '',
  `| figure | ${names.join(' | ')} | ${names
    .filter((n) => n !== 'relink')
    .map((n) => `relink vs ${n}`)
    .join(' | ')} |`,
  `| --- | ${names.map(() => '---:').join(' | ')} | ${names
    .filter((n) => n !== 'relink')
    .map(() => '---:')
    .join(' | ')} |`,
  ...rows.map(([label, key, div]) => {
    const own = m('relink', key);
    const ratios = names
      .filter((n) => n !== 'relink')
      .map((n) => {
        const peer = key === 'emergency' ? m(n, 'rollback') : m(n, key);
        return own && peer ? `${(peer / own).toFixed(1)}x` : '-';
      });
    return `| ${label} | ${names.map((n) => fmt(m(n, key), div)).join(' | ')} | ${ratios.join(' | ')} |`;
  }),
  '',
  ...(m('relink', `cold${scale}`)
    ? [
        `relink cold deploy: ${nodes} nodes ${secs(m('relink', `cold${nodes}`))} s, ${scale} nodes ${secs(m('relink', `cold${scale}`))} s: ${(m('relink', `cold${scale}`) / m('relink', `cold${nodes}`)).toFixed(2)}x the time for ${scale / nodes}x the nodes.`,
        '',
      ]
    : []),
  `deploy --help: median ${secs(m('relink', 'help'))} s over 11 starts.`,
  '',
  "The emergency-rollback ratio compares relink --emergency with each peer's own rollback (neither peer has a faster path). Ratios > 1 mean relink is faster (or, for bytes and memory, smaller).",
  '',
];
await fs.mkdirp(path.join(root, 'bench', 'results'));
await fs.writeJson(path.join(root, 'bench', 'results', 'latest.json'), results, { spaces: 2 });
await fs.writeFile(path.join(root, 'bench', 'results', 'latest.md'), md.join('\n'));
if (m('relink', `cold${scale}`)) {
  const points = [
    [0, 0],
    [nodes, m('relink', `cold${nodes}`)],
    [scale, m('relink', `cold${scale}`)],
  ];
  const maxY = Math.max(...points.map((p) => p[1])) * 1.2;
  const x = (n) => 50 + (n / scale) * 400;
  const y = (ms) => 250 - (ms / maxY) * 200;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="500" height="300" font-family="sans-serif" font-size="12">
<text x="250" y="20" text-anchor="middle">relink cold deploy time against node count (${mb} MB release)</text>
<line x1="50" y1="250" x2="460" y2="250" stroke="black"/><line x1="50" y1="250" x2="50" y2="40" stroke="black"/>
<polyline fill="none" stroke="steelblue" stroke-width="2" points="${points.map(([n, ms]) => `${x(n)},${y(ms)}`).join(' ')}"/>
${points
  .slice(1)
  .map(
    ([n, ms]) =>
      `<circle cx="${x(n)}" cy="${y(ms)}" r="4" fill="steelblue"/><text x="${x(n)}" y="${y(ms) - 10}" text-anchor="middle">${n} nodes: ${secs(ms)} s</text>`,
  )
  .join('\n')}
<text x="250" y="285" text-anchor="middle">nodes</text><text x="15" y="145" transform="rotate(-90 15 145)" text-anchor="middle">seconds</text>
</svg>
`;
  await fs.writeFile(path.join(root, 'bench', 'results', 'scaling.svg'), svg);
}
console.log(
  `\n${md.join('\n')}\nwritten: bench/results/latest.json, latest.md${m('relink', `cold${scale}`) ? ', scaling.svg' : ''}`,
);
