#!/usr/bin/env node
// Runs a command and samples, every 20 ms, the resident memory of every
// process under it (the command and all it starts: ssh, rsync, tar, ...),
// added up; at the end writes the peak in kB to <out-file>. The benchmarks
// wrap `/usr/bin/time` with it, so the sampler's own CPU is not counted and
// the time process itself is left out of the sum.
//
//   node bench/tree-rss.mjs <out-file> <command> [args...]
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const [out, command, ...args] = process.argv.slice(2);
const PAGE_KB = 4;

/** Every process under `pid` (its threads' children, recursively), `pid` included. */
function tree(pid, into = []) {
  into.push(pid);
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return into;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {}
    for (const child of children.split(' ').filter(Boolean)) tree(Number(child), into);
  }
  return into;
}

function residentKb(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_KB;
  } catch {
    return 0;
  }
}

const child = spawn(command, args, { stdio: 'inherit' });
let peak = 0;
const sample = () => {
  const pids = tree(child.pid);
  // /usr/bin/time only waits for the command: leave it out.
  const measured = command.endsWith('/time') ? pids.slice(1) : pids;
  peak = Math.max(
    peak,
    measured.reduce((sum, pid) => sum + residentKb(pid), 0),
  );
};
const timer = setInterval(sample, 20);
sample();
child.on('exit', (code, signal) => {
  clearInterval(timer);
  fs.writeFileSync(out, `${peak}\n`);
  process.exitCode = code ?? (signal ? 128 : 1);
});
