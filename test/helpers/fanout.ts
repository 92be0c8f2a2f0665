import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResolvedFanout } from '../../src/config/resolved.js';
import type { fakeRun } from './fake-run.js';

type Made = ReturnType<typeof fakeRun>;

let dir: string | undefined;
let files = 0;

/** One temp dir per test process, removed when it exits. */
function scratch(): string {
  if (!dir) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-fanout-'));
    process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  return dir;
}

/** The run with another rollout.fanout, and a known_hosts file that knows every fake node. */
export function withFanout(made: Made, fanout: Partial<ResolvedFanout>): Made {
  const knownHostsFile = path.join(scratch(), `known_hosts-${++files}`);
  const lines = made.request.inventory.hosts.map((h) => `${h.address} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${h.name}`);
  fs.writeFileSync(knownHostsFile, `${lines.join('\n')}\n`);
  const base = made.request.config;
  const config = {
    ...base,
    rollout: { ...base.rollout, fanout: { ...base.rollout.fanout, ...fanout } },
    ssh: { ...base.ssh, knownHostsFile },
  };
  return { ...made, request: { ...made.request, config } };
}
