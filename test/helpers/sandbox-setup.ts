import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    sandboxDir: string;
  }
}

const root = path.resolve(import.meta.dirname, '..', '..');
const zx = path.join(root, 'node_modules', 'zx', 'build', 'cli.js');

/**
 * One 4-node sandbox for the whole integration run, on ports of its own so a
 * demo sandbox can keep running. node3 has a network namespace of its own
 * (its own address, a veth pair), so every test also crosses a real link and
 * the fault suite can slow that node with tc netem.
 */
export default function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-it-'));
  // RELINK_IT_PORTS=25 moves the whole sandbox to ssh 2501-2504, app 8501-8504, HAProxy 8580 (two at once).
  const base = Number(process.env.RELINK_IT_PORTS ?? 23);
  const app = 8000 + (base % 10) * 100;
  const ports = ['--ssh-port', `${base}01`, '--app-port', `${app + 1}`, '--lb-port', `${app + 80}`];
  const args = ['up', '--nodes', '4', '--dir', dir, ...ports, '--netns', 'node3'];
  execFileSync('node', [zx, path.join(root, 'scripts', 'sandbox.mjs'), ...args], { stdio: 'inherit' });
  project.provide('sandboxDir', dir);
  return () => {
    execFileSync('node', [zx, path.join(root, 'scripts', 'sandbox.mjs'), 'down', '--dir', dir], { stdio: 'inherit' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
