#!/usr/bin/env node
// Where a relink command's CPU goes: runs it under `node --cpu-prof` and
// prints the functions with the most self time, grouped by module (relink's
// own chunks, ssh2, node's internals, the garbage collector), plus the CPU of
// the children it started (ssh, rsync, tar) from getrusage.
//
//   node bench/profile.mjs [--top 20] -- <relink bin> <args...>     (run from the project directory)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
if (split === -1) {
  console.error('usage: node bench/profile.mjs [--top N] -- <bin> <args...>');
  process.exit(2);
}
const topAt = argv.indexOf('--top');
const top = topAt !== -1 && topAt < split ? Number(argv[topAt + 1]) : 20;
const [bin, ...args] = argv.slice(split + 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-profile-'));
const result = spawnSync(
  '/usr/bin/time',
  ['-f', '%U %S %M', process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, bin, ...args],
  { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] },
);
const [user, sys, rssKb] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
if (!files.length) {
  console.error(`no profile written (exit ${result.status}):\n${result.stderr.slice(-2000)}`);
  process.exit(1);
}
const profile = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
fs.rmSync(dir, { recursive: true, force: true });

// Self time per node: the samples that landed on it, times the mean sampling interval.
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const interval = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
const where = (url) => {
  if (!url) return '(native)';
  if (url.includes('/node_modules/')) return url.replace(/.*\/node_modules\/((@[^/]+\/)?[^/]+).*/, '$1');
  if (url.startsWith('node:')) return 'node';
  return path.basename(url);
};
const byFunction = new Map();
const byModule = new Map();
let idle = 0;
for (const node of profile.nodes) {
  const ms = (counts.get(node.id) ?? 0) * interval;
  if (!ms) continue;
  const name = node.callFrame.functionName || '(anonymous)';
  if (name === '(idle)' || name === '(program)') {
    idle += name === '(idle)' ? ms : 0;
    if (name === '(idle)') continue;
  }
  const module = where(node.callFrame.url);
  const file = node.callFrame.url.startsWith('node:') ? node.callFrame.url : module;
  const key = `${name} ${file}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  byModule.set(module, (byModule.get(module) ?? 0) + ms);
}
const busy = [...byModule.values()].reduce((a, b) => a + b, 0);
const rows = (map) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${k}`);
console.log(
  `\nexit ${result.status}; user ${user} s, sys ${sys} s (this process and its children); peak RSS ${Math.round(rssKb / 1024)} MB`,
);
console.log(`sampled in relink's own process: ${busy.toFixed(0)} ms busy, ${idle.toFixed(0)} ms idle\n`);
console.log('by module:');
console.log(rows(byModule).join('\n'));
console.log('\nby function (self time):');
console.log(rows(byFunction).join('\n'));
