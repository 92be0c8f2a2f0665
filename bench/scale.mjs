#!/usr/bin/env zx
// npm run bench:scale: a cold deploy (empty nodes, no load balancer, so the
// figure is distribution and not health-check waits) of a release of --mb MB
// of incompressible data to 10, 50 and 100 sandbox nodes, in each fan-out
// mode: push (this machine sends every node the tarball), relay (it sends the
// seeds, the nodes pass it on) and pull (the nodes fetch it from the
// sandbox's nginx, the artifact store). Per figure: wall time, CPU (user+sys,
// children included) and peak RSS of the deploy command, and the bytes this
// machine sent, counted twice: by the kernel (iptables, every TCP byte sent by
// the user relink runs as, `relinkbench`; the nodes' own sshd, ssh and nginx
// run as other users), and as relink reports it. Writes
// bench/results/scale.{json,md}.
//
// Beside each figure, relink as it was before the data-path work (commit --before, default 42ec4b7), built
// from this repository's history into bench/work-scale/before and run right after it on the same nodes.
//
//   zx bench/scale.mjs [--counts 10,50,100] [--modes push,relay,pull] [--runs 1] [--mb 20] [--report scale.json]
//                      [--before <rev> | --no-before]
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { $, argv, fs, path } from 'zx';
import { buildBefore } from './before.mjs';

$.verbose = false;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(root, 'bench', 'work-scale');
const counts = String(argv.counts ?? '10,50,100')
  .split(',')
  .map(Number);
const modes = String(argv.modes ?? 'push,relay,pull').split(',');
const runs = Number(argv.runs ?? 1);
const mb = Number(argv.mb ?? 20);
const USER = 'relinkbench';
const before = argv.before === false ? undefined : String(argv.before ?? '42ec4b7');
const sandboxDir = path.join(work, 'sandbox');
const repo = path.join(work, 'app');
const project = path.join(work, 'project');
const home = path.join(work, 'home');
const bin = path.join(root, 'dist', 'bin', 'deploy.js');
const treeRss = path.join(root, 'bench', 'tree-rss.mjs');
const rssFile = path.join((await import('node:os')).tmpdir(), `relink-scale-rss-${process.pid}`);
const TAG = 'scale-v1.0.0';
// A real random value: the redactor would blank out any short common word used as a secret.
const secret = crypto.randomBytes(12).toString('hex');
const cores = (await import('node:os')).availableParallelism();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function ensureTools() {
  const missing = [];
  if (!fs.existsSync('/usr/sbin/iptables')) missing.push('iptables');
  if (!fs.existsSync('/usr/bin/time')) missing.push('time');
  if (missing.length) {
    await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq ${missing}`;
  }
  if ((await $`id -u ${USER}`.nothrow()).exitCode !== 0)
    await $`useradd --system --shell /bin/sh --home-dir ${home} ${USER}`;
  if (before) await buildBefore(root, before, path.join(work, 'before'));
}

async function makeRepo() {
  await $({ cwd: root })`zx scripts/example-repo.mjs --dir ${repo}`;
  await fs.mkdirp(path.join(repo, 'assets'));
  for (let i = 0; i < mb; i++)
    await fs.writeFile(path.join(repo, 'assets', `blob-${i}.bin`), crypto.randomBytes(1024 * 1024));
  await $({ cwd: repo })`git add -A`;
  await $({ cwd: repo })`git commit -q -m ${'add assets'}`;
  await $({ cwd: repo })`git tag -a ${TAG} -m ${TAG}`;
}

/** The fan-out settings of each mode, as the README recommends them. */
function fanout(mode, sb) {
  if (mode === 'relay') return "{ mode: 'relay', seeds: 2, width: 4 }";
  if (mode === 'pull') {
    const url = `http://127.0.0.1:${sb.nginx.port}${sb.nginx.artifacts.path}{{ release }}.tar.gz`;
    const publish = `cp {{ file }} ${sb.nginx.artifacts.dir}/{{ release }}.tar.gz`;
    return `{ mode: 'pull', url: ${JSON.stringify(url)}, publish: ${JSON.stringify(publish)} }`;
  }
  return "{ mode: 'push' }";
}

async function makeProject(sb, count, mode) {
  await fs.remove(project);
  await fs.mkdirp(path.join(project, 'hosts'));
  await fs.mkdirp(path.join(project, 'templates'));
  await fs.copy(path.join(root, 'templates', 'app.env'), path.join(project, 'templates', 'app.env'));
  const hosts = sb.nodes.slice(0, count).map((n) => {
    const where = `address: ${n.address}, port: ${n.sshPort}, user: root`;
    return `  - { name: ${n.name}, ${where}, vars: { appPort: ${n.appPort} } }`;
  });
  const inventory = ['pre: node1', 'groupSize: "25%"', 'lb: { driver: none }', 'hosts:', ...hosts].join('\n');
  await fs.writeFile(path.join(project, 'hosts', 'prod.yaml'), `${inventory}\n`);
  const ssh = `{ identityFile: ${JSON.stringify(path.join(home, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(path.join(sandboxDir, 'known_hosts'))} }`;
  await fs.writeFile(
    path.join(project, 'deploy.config.ts'),
    `export default {
  project: 'scale',
  repo: ${JSON.stringify(repo)},
  deployTo: process.env.BENCH_DEPLOY_TO,
  build: { command: 'node build.mjs' },
  shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: { greeting: 'scale' },
  secrets: ['APP_SECRET'],
  restart: { command: 'sh bin/restart.sh' },
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"', retries: 200, intervalMs: 50 },
  rollout: { parallel: 100, fanout: ${fanout(mode, sb)} },
  ssh: ${ssh},
};
`,
  );
  await $`chown -R ${USER} ${project} ${repo} ${home}`;
}

// Every TCP byte sent by the user relink runs as, counted by the kernel.
const rule = ['OUTPUT', '-p', 'tcp', '-m', 'owner', '--uid-owner', USER, '-j', 'ACCEPT'];
function resetBytes() {
  spawnSync('iptables', ['-D', ...rule]);
  spawnSync('iptables', ['-I', ...rule]);
}
function readBytes() {
  const out = spawnSync('iptables', ['-L', 'OUTPUT', '-v', '-x', '-n'], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.includes('owner UID match'));
  return line ? Number(line.trim().split(/\s+/)[1]) : Number.NaN;
}

/** CPU seconds the whole machine was busy (every node, nginx, relink), from /proc/stat. */
function machineBusy() {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user + nice + system + irq + softirq + steal) / 100;
}

function deploy(deployTo, deployBin = bin) {
  resetBytes();
  const busy = machineBusy();
  const started = process.hrtime.bigint();
  const env = { ...process.env, CI: 'true', HOME: home, BENCH_DEPLOY_TO: deployTo, APP_SECRET: secret };
  // The sampler runs as the same user, outside /usr/bin/time: its CPU is not counted, its reading of /proc sends
  // no byte the iptables counter would see.
  fs.writeFileSync(rssFile, '0\n', { mode: 0o666 });
  fs.chmodSync(rssFile, 0o666);
  const timedDeploy = ['/usr/bin/time', '-f', '%M %U %S', 'node', deployBin, 'prod', TAG];
  const result = spawnSync('runuser', ['-u', USER, '--', 'node', treeRss, rssFile, ...timedDeploy], {
    cwd: project,
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const machineS = machineBusy() - busy;
  if (result.status !== 0) throw new Error(`deploy failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  const [rss, user, sys] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  const reported = /sent ([\d.]+) MB from this machine/.exec(result.stdout)?.[1];
  const reportedMB = Number(reported ?? Number.NaN);
  // rssKb: relink and every process it started, added up, at the worst moment (tree-rss.mjs); singleKb: the
  // largest single process, as /usr/bin/time counts it.
  const rssKb = Number(fs.readFileSync(rssFile, 'utf8'));
  return { ms, cpuMs: (user + sys) * 1000, rssKb, singleKb: rss, bytes: readBytes(), reportedMB, machineS };
}

async function verify(sb, count) {
  await Promise.all(
    sb.nodes.slice(0, count).map(async (node) => {
      const body = await fetch(`http://127.0.0.1:${node.appPort}/health`).then((r) => r.text(), String);
      if (!body.includes(`"version":"${TAG}"`)) throw new Error(`${node.name} serves ${body.slice(0, 80)}`);
    }),
  );
}

const stopApps = (sb) =>
  Promise.all(
    sb.nodes.map((n) =>
      $`ssh -i ${path.join(home, 'id_ed25519')} -o UserKnownHostsFile=${path.join(sandboxDir, 'known_hosts')} -o BatchMode=yes -p ${n.sshPort} root@${n.address} ${"pkill -9 -f '[s]erver[.]js'; rm -rf /srv/scale-*"}`.nothrow(),
    ),
  );

const results = { date: new Date().toISOString(), runs, releaseMB: mb, before, figures: {} };
if (argv.report) Object.assign(results, await fs.readJson(argv.report));
else await measure();

async function measure() {
  await fs.remove(work);
  await fs.mkdirp(home);
  await ensureTools();
  const most = Math.max(...counts);
  await $({
    cwd: root,
    stdio: 'inherit',
  })`zx scripts/sandbox.mjs up --nodes ${most} --dir ${sandboxDir} --ssh-port 2701 --app-port 8701 --lb-port 8980 --nginx-port 8990`;
  const sb = await fs.readJson(path.join(sandboxDir, 'sandbox.json'));
  await fs.copy(path.join(sandboxDir, 'id_ed25519'), path.join(home, 'id_ed25519'));
  await fs.chmod(path.join(home, 'id_ed25519'), 0o600);
  await fs.chmod(sandboxDir, 0o755);
  await fs.chmod(path.join(sandboxDir, 'known_hosts'), 0o644);
  await $`chown ${USER} ${sb.nginx.artifacts.dir}`;
  try {
    await makeRepo();
    for (const count of counts) {
      for (const mode of modes) {
        await makeProject(sb, count, mode);
        for (let run = 0; run < runs; run++) {
          await stopApps(sb);
          const r = deploy(`/srv/scale-${mode}-${count}-${run}`);
          await verify(sb, count);
          const key = `${mode}@${count}`;
          results.figures[key] ??= [];
          results.figures[key].push(r);
          if (before) {
            await stopApps(sb);
            const old = deploy(
              `/srv/scale-before-${mode}-${count}-${run}`,
              path.join(work, 'before', 'dist', 'bin', 'deploy.js'),
            );
            await verify(sb, count);
            results.figures[`before:${key}`] ??= [];
            results.figures[`before:${key}`].push(old);
            console.log(
              `${key} run ${run + 1}, before: ${(old.ms / 1000).toFixed(2)} s, CPU ${(old.cpuMs / 1000).toFixed(2)} s, RSS ${(old.rssKb / 1024).toFixed(0)} MB`,
            );
          }
          const sent = (r.bytes / 1e6).toFixed(0);
          console.log(
            `${key} run ${run + 1}: ${(r.ms / 1000).toFixed(2)} s, sent ${sent} MB (relink says ${r.reportedMB} MB), ` +
              `CPU ${(r.cpuMs / 1000).toFixed(2)} s, RSS ${(r.rssKb / 1024).toFixed(0)} MB, machine busy ${r.machineS.toFixed(1)} CPU s`,
          );
        }
      }
    }
  } finally {
    await stopApps(sb).catch(() => undefined);
    spawnSync('iptables', ['-D', ...rule]);
    await $({ cwd: root })`zx scripts/sandbox.mjs down --dir ${sandboxDir}`;
  }
}

await fs.mkdirp(path.join(root, 'bench', 'results'));
await fs.writeJson(path.join(root, 'bench', 'results', 'scale.json'), results, { spaces: 2 });

const row = (key) => {
  const xs = results.figures[key];
  if (!xs) return undefined;
  const m = (f) => median(xs.map(f));
  return {
    s: m((x) => x.ms) / 1000,
    mb: m((x) => x.bytes) / 1e6,
    cpu: m((x) => x.cpuMs) / 1000,
    rss: m((x) => x.rssKb) / 1024,
    busy: m((x) => x.machineS),
  };
};
const lines = [
  `# Fan-out at scale (${results.date.slice(0, 10)}, medians of ${runs}, ${mb} MB release, cold, no load balancer)`,
  '',
  'One 2-core machine runs relink, every sandbox node (sshd in its own mount and PID namespace) and nginx.',
  "push: `fanout: { mode: push }` (tar over the run's SSH connection); relay: `{ mode: relay, seeds: 2, width: 4 }`;",
  'pull: `{ mode: pull }` from the sandbox\'s nginx. "sent" is every TCP byte the deploy process sent (iptables).',
  '',
  'relink CPU: the deploy command and its children (per node: divided by the nodes); peak RSS: the deploy command',
  'and every process it started, added up at the worst moment; machine busy: every CPU second of the machine during',
  `the deploy (all nodes, nginx, relink), and its share of the ${cores} cores over the wall time.`,
  `"before": relink at ${results.before ?? '-'}, the same deploy on the same nodes right after.`,
  '',
  '| mode | nodes | wall s | vs 10 nodes | sent MB | sent / release | relink CPU s | CPU ms / node | peak RSS MB | machine busy CPU s | of the cores | before: wall s | before: CPU ms / node | before: peak RSS MB |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const mode of modes) {
  const base = row(`${mode}@${counts[0]}`);
  for (const count of counts) {
    const r = row(`${mode}@${count}`);
    if (!r) continue;
    const ratio = base ? `${(r.s / base.s).toFixed(2)}x` : '-';
    const old = row(`before:${mode}@${count}`);
    const was = old
      ? `${old.s.toFixed(2)} | ${Math.round((1000 * old.cpu) / count)} | ${old.rss.toFixed(0)}`
      : '- | - | -';
    lines.push(
      `| ${mode} | ${count} | ${r.s.toFixed(2)} | ${ratio} | ${r.mb.toFixed(0)} | ${(r.mb / mb).toFixed(1)}x | ${r.cpu.toFixed(2)} | ${Math.round((1000 * r.cpu) / count)} | ${r.rss.toFixed(0)} | ${r.busy.toFixed(1)} | ${Math.round((100 * r.busy) / (r.s * cores))}% | ${was} |`,
    );
  }
}
const md = `${lines.join('\n')}\n`;
await fs.writeFile(path.join(root, 'bench', 'results', 'scale.md'), md);
console.log(`\n${md}\nwritten: bench/results/scale.json, scale.md`);
