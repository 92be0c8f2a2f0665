import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's sandbox root: worker sandboxes are <root>/w<N>; each test file claims a free one (readSandbox). */
    sandboxDir: string;
  }
}

const root = path.resolve(import.meta.dirname, '..', '..');
const zx = path.join(root, 'node_modules', 'zx', 'build', 'cli.js');
const script = path.join(root, 'scripts', 'sandbox.mjs');
const run = promisify(execFile);

/** Workers per port base: worker 5 would take 2341, where jump.test.ts starts its own sandbox. */
const MAX_WORKERS = 4;

/**
 * The ports of worker `worker`'s sandbox, all inside the block of `base` (RELINK_IT_PORTS, 23 unless
 * set): worker 1 has ssh 2301-2304, app 8301-8304, HAProxy 8380, nginx 8390 (as one sandbox always
 * had); worker 2 has 2311-2314, 8311-8314, 8381, 8391; worker 3 2321-2324, 8321-8324, 8382, 8392.
 * Network namespaces, veth names and 10.213.x.y addresses follow from the ssh port, so they differ too.
 */
export function sandboxPorts(base: number, worker: number) {
  const ssh = base * 100 + (worker - 1) * 10 + 1;
  const app = 8000 + (base % 10) * 100 + (worker - 1) * 10 + 1;
  const lb = 8000 + (base % 10) * 100 + 80 + (worker - 1);
  return { ssh, app, lb, nginx: lb + 10 };
}

function upArgs(dir: string, base: number, worker: number): string[] {
  const p = sandboxPorts(base, worker);
  const ports = [
    '--ssh-port',
    `${p.ssh}`,
    '--app-port',
    `${p.app}`,
    '--lb-port',
    `${p.lb}`,
    '--nginx-port',
    `${p.nginx}`,
  ];
  return [zx, script, 'up', '--nodes', '4', '--dir', dir, ...ports, '--netns', 'node3'];
}

/**
 * One 4-node sandbox per integration worker, each on ports of its own, so
 * files run side by side while each sandbox still sees one file at a time
 * (a file may kill its nodes, slow node3 or drain HAProxy). node3 has a
 * network namespace of its own (its own address, a veth pair), so every test
 * also crosses a real link and the fault suite can slow that node with tc
 * netem. All are started here, before any file runs: starting one adds a key
 * to the `relink` user's authorized_keys, which a running test compares.
 */
export default async function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-it-'));
  // nginx's workers (nobody) pass through here to each sandbox's artifact store (fan-out by pull).
  fs.chmodSync(dir, 0o711);
  // RELINK_IT_PORTS=25 moves every sandbox to ssh 25x1-25x4, app 85x1-85x4, HAProxy 858x (two runs at once).
  const base = Number(process.env.RELINK_IT_PORTS ?? 23);
  // As vitest counts them (resolveMaxWorkers): at most this many files run at once, each claims one sandbox.
  const workers =
    project.config.maxWorkers || project.vitest.config.maxWorkers || Math.max(os.availableParallelism() - 1, 1);
  if (workers > MAX_WORKERS) throw new Error(`integration: at most ${MAX_WORKERS} workers, got ${workers}`);
  const dirs = Array.from({ length: workers }, (_, i) => path.join(dir, `w${i + 1}`));
  const down = () => Promise.all(dirs.map((d) => run('node', [zx, script, 'down', '--dir', d]).catch(() => undefined)));
  // The first one alone: it installs missing packages and creates the relink user; the rest at once.
  execFileSync('node', upArgs(dirs[0]!, base, 1), { stdio: 'inherit' });
  const rest = await Promise.allSettled(dirs.slice(1).map((d, i) => run('node', upArgs(d, base, i + 2))));
  for (const r of rest) if (r.status === 'fulfilled') process.stdout.write(r.value.stdout);
  const failed = rest.find((r) => r.status === 'rejected');
  if (failed) {
    await down();
    throw failed.reason;
  }
  project.provide('sandboxDir', dir);
  return async () => {
    await down();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
