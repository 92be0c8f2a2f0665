#!/usr/bin/env zx
// The upload data path, measured alone: one incompressible file sent to N
// sandbox nodes at once, several ways.
//   ssh2            as relink sent it through ssh2 before: one `cat > file` channel per node, 256 KiB reads piped in
//   ssh2-big        the same with 1 MiB reads (--chunk KiB)
//   ssh2-tuned      1 MiB reads, the socket corked for each read so its 32 packets leave in one write (--cork 0: not)
//   openssh         an OpenSSH ControlMaster per node opened for the run (AES-GCM, curve25519), `ssh -S` running
//                   `cat > file` with the file as its stdin descriptor: the bytes never enter this process
//   openssh-direct  the same without a master: one `ssh` per node, its handshake inside the timed part
// Each round: wall time, this process's CPU, its children's CPU (reaped children from /proc/self/stat plus the
// masters, read before they exit), and the peak RSS of this process and every child alive, summed (sampled every
// 25 ms). Modes alternate within each round; medians over the rounds.
//
//   zx bench/datapath.mjs --sandbox .sandbox [--nodes 4] [--rounds 3] [--mb 20] [--chunk 1024] [--cork 1]
//                         [--modes ssh2,ssh2-big,ssh2-tuned,openssh,openssh-direct]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { argv, fs, path } from 'zx';

const require = createRequire(import.meta.url);
const { Client } = require('ssh2');

const dir = path.resolve(argv.sandbox ?? '.sandbox');
const state = fs.readJsonSync(path.join(dir, 'sandbox.json'));
const count = Number(argv.nodes ?? 4);
const rounds = Number(argv.rounds ?? 3);
const mb = Number(argv.mb ?? 20);
const chunkKiB = Number(argv.chunk ?? 1024);
/** `--cork 0`: the tuned mode without corking, to tell the two tunings apart. */
const cork = String(argv.cork ?? '1') !== '0';
const modes = String(argv.modes ?? 'ssh2,ssh2-big,ssh2-tuned,openssh,openssh-direct').split(',');
const nodes = state.nodes.slice(0, count);
if (nodes.length < count) throw new Error(`the sandbox has ${state.nodes.length} nodes, asked for ${count}`);
const key = path.join(dir, 'id_ed25519');
const knownHosts = path.join(dir, 'known_hosts');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-datapath-'));
const file = path.join(work, 'payload.bin');
// Written a MiB at a time: the payload is not held in this process's heap.
for (let i = 0; i < mb; i++) fs.appendFileSync(file, crypto.randomBytes(1024 * 1024));
/** Clock ticks per second of /proc's CPU fields (USER_HZ, 100 on Linux). */
const TICK = 100;

const statOf = (pid) => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
};
/** CPU seconds of a live process (utime + stime); with `reaped`, of its waited-for children instead. */
const cpuOf = (pid, reaped = false) => {
  const f = statOf(pid);
  if (!f) return 0;
  return reaped ? (Number(f[13]) + Number(f[14])) / TICK : (Number(f[11]) + Number(f[12])) / TICK;
};
/** Resident bytes of a process: RSS, or with `pss` its proportional share (shared library pages divided). */
const rssOf = (pid, pss = false) => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/${pss ? 'smaps_rollup' : 'status'}`, 'utf8');
    const m = (pss ? /Pss:\s+(\d+)/ : /VmRSS:\s+(\d+)/).exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};
/**
 * Samples this process, its descendants and `extra` pids (daemonized masters), summing RSS and PSS; keeps the
 * peaks. It runs as a child of its own, so its reads of /proc are not counted as this process's CPU; it is
 * waited for only after the children's CPU has been read.
 */
function sampler(extra) {
  const code = `
    const fs = require('node:fs');
    const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };
    const kb = (pid, pss) => Number((pss ? /Pss:\\s+(\\d+)/ : /VmRSS:\\s+(\\d+)/)
      .exec(read('/proc/' + pid + (pss ? '/smaps_rollup' : '/status')))?.[1] ?? 0) * 1024;
    const kids = (pid) => (fs.existsSync('/proc/' + pid + '/task') ? fs.readdirSync('/proc/' + pid + '/task') : [])
      .flatMap((t) => read('/proc/' + pid + '/task/' + t + '/children').trim().split(/\\s+/).filter(Boolean)).map(Number);
    const tree = (pid) => [pid, ...kids(pid).flatMap(tree)];
    const roots = process.argv.slice(1).map(Number);
    const me = process.pid;
    let rss = 0, pss = 0;
    const sample = () => {
      const pids = new Set(roots.flatMap(tree)); pids.delete(me);
      let r = 0, p = 0;
      for (const pid of pids) { r += kb(pid, false); p += kb(pid, true); }
      rss = Math.max(rss, r); pss = Math.max(pss, p);
    };
    const timer = setInterval(sample, 25); sample();
    process.stdin.on('data', () => undefined);
    process.stdin.on('end', () => { clearInterval(timer); sample(); process.stdout.write(JSON.stringify({ rss, pss })); });`;
  const child = spawn(process.execPath, ['-e', code, String(process.pid), ...extra.map(String)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const exited = new Promise((resolve) => child.on('close', resolve));
  return async () => {
    child.stdin.end();
    await exited;
    return JSON.parse(out);
  };
}

const run = (cmd, args, opts = {}) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let err = '';
    child.stderr?.on('data', (c) => (err += c));
    child.stdout?.on('data', () => undefined);
    child.on('close', (code) => resolve({ code, err }));
  });

function connect(node, tuned) {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('ready', () => resolve(client)).on('error', reject);
    client.connect({
      host: node.address ?? '127.0.0.1',
      port: node.sshPort ?? node.port,
      username: 'root',
      privateKey: fs.readFileSync(key, 'utf8'),
      ...(tuned ? { algorithms: { cipher: ['aes128-gcm@openssh.com'], kex: ['curve25519-sha256'] } } : {}),
    });
  });
}

function ssh2Upload(client, tuned, corked) {
  return new Promise((resolve, reject) => {
    client.exec('cat > /tmp/relink-datapath.bin', (error, channel) => {
      if (error) return reject(error);
      channel.resume();
      channel.stderr.resume();
      channel.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
      const stream = fs.createReadStream(file, { highWaterMark: (tuned ? chunkKiB : 256) * 1024 });
      if (!tuned) return void stream.pipe(channel);
      const sock = client._sock;
      stream.on('data', (chunk) => {
        if (corked) sock.cork();
        const more = channel.write(chunk);
        if (corked) process.nextTick(() => sock.uncork());
        if (!more) {
          stream.pause();
          channel.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => channel.end());
    });
  });
}

async function viaSsh2(tuned, corked) {
  const clients = await Promise.all(nodes.map((n) => connect(n, tuned)));
  const peak = sampler([]);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(clients.map((c) => ssh2Upload(c, tuned, corked)));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const { rss, pss } = await peak();
  for (const c of clients) c.end();
  return { wall, self: (cpu.user + cpu.system) / 1e6, children: 0, rss, pss };
}

const sshOpts = (control) => [
  '-F',
  '/dev/null',
  '-i',
  key,
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  `UserKnownHostsFile=${knownHosts}`,
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'Ciphers=aes128-gcm@openssh.com',
  '-o',
  'KexAlgorithms=curve25519-sha256',
  '-o',
  'BatchMode=yes',
  '-o',
  `ControlPath=${control}`,
  '-l',
  'root',
];

/** OpenSSH without a master: one `ssh` per node with its own handshake, counted in the timed part. */
async function viaOpensshDirect() {
  const target = (n) => ['-p', String(n.sshPort ?? n.port), n.address ?? '127.0.0.1'];
  const reaped0 = cpuOf(process.pid, true);
  const peak = sampler([]);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    nodes.map(async (n) => {
      const fd = fs.openSync(file, 'r');
      const args = [...sshOpts('none'), ...target(n), 'cat > /tmp/relink-datapath.bin'];
      const done = await run('ssh', args, { stdio: [fd, 'ignore', 'pipe'] });
      fs.closeSync(fd);
      if (done.code !== 0) throw new Error(`upload failed: ${done.err}`);
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const children = cpuOf(process.pid, true) - reaped0;
  const { rss, pss } = await peak();
  return { wall, self: (cpu.user + cpu.system) / 1e6, children, rss, pss };
}

async function viaOpenssh() {
  const controls = nodes.map((_, i) => path.join(work, `c${i}`));
  const target = (n) => ['-p', String(n.sshPort ?? n.port), n.address ?? '127.0.0.1'];
  // The masters are opened before the clock starts, as the ssh2 connections are.
  const opened = await Promise.all(
    nodes.map((n, i) =>
      run('ssh', [...sshOpts(controls[i]), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=60', '-fN', ...target(n)]),
    ),
  );
  const failed = opened.find((o) => o.code !== 0);
  if (failed) throw new Error(`cannot open a master: ${failed.err}`);
  const masters = await Promise.all(
    nodes.map(async (n, i) => {
      const out = await new Promise((resolve) => {
        const child = spawn('ssh', [...sshOpts(controls[i]), '-O', 'check', ...target(n)]);
        let err = '';
        child.stderr.on('data', (c) => (err += c));
        child.on('close', () => resolve(err));
      });
      return Number(/pid=(\d+)/.exec(out)?.[1]);
    }),
  );
  const masterCpu0 = masters.reduce((s, pid) => s + cpuOf(pid), 0);
  const reaped0 = cpuOf(process.pid, true);
  const peak = sampler(masters);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    nodes.map(async (n, i) => {
      const fd = fs.openSync(file, 'r');
      const done = await run('ssh', [...sshOpts(controls[i]), ...target(n), 'cat > /tmp/relink-datapath.bin'], {
        stdio: [fd, 'ignore', 'pipe'],
      });
      fs.closeSync(fd);
      if (done.code !== 0) throw new Error(`upload failed: ${done.err}`);
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const children = cpuOf(process.pid, true) - reaped0 + masters.reduce((s, pid) => s + cpuOf(pid), 0) - masterCpu0;
  const { rss, pss } = await peak();
  await Promise.all(nodes.map((n, i) => run('ssh', [...sshOpts(controls[i]), '-O', 'exit', ...target(n)])));
  return { wall, self: (cpu.user + cpu.system) / 1e6, children, rss, pss };
}

console.error(`baseline: this process ${(rssOf(process.pid) / 2 ** 20).toFixed(0)} MB RSS`);
const results = Object.fromEntries(modes.map((m) => [m, []]));
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    const one =
      mode === 'openssh'
        ? await viaOpenssh()
        : mode === 'openssh-direct'
          ? await viaOpensshDirect()
          : await viaSsh2(mode !== 'ssh2', mode === 'ssh2-tuned' && cork);
    results[mode].push(one);
    console.error(
      `round ${r + 1} ${mode}: ${(one.wall / 1000).toFixed(2)} s, cpu ${one.self.toFixed(2)} + ${one.children.toFixed(2)} s, ` +
        `rss ${(one.rss / 2 ** 20).toFixed(0)} MB, pss ${(one.pss / 2 ** 20).toFixed(0)} MB`,
    );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${count} nodes, ${mb} MiB each, medians of ${rounds} (${os.loadavg()[0].toFixed(1)} load)\n`);
console.log('| mode | wall s | this process CPU s | children CPU s | total CPU s | peak RSS MB | peak PSS MB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const mode of modes) {
  const rs = results[mode];
  const cells = [
    median(rs.map((x) => x.wall / 1000)).toFixed(2),
    median(rs.map((x) => x.self)).toFixed(2),
    median(rs.map((x) => x.children)).toFixed(2),
    median(rs.map((x) => x.self + x.children)).toFixed(2),
    median(rs.map((x) => x.rss / 2 ** 20)).toFixed(0),
    median(rs.map((x) => x.pss / 2 ** 20)).toFixed(0),
  ];
  console.log(`| ${mode} | ${cells.join(' | ')} |`);
}
fs.removeSync(work);
