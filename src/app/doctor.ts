// `deploy doctor`: what would stop a release to an environment, checked per node before one starts
// (ssh and host keys, deployTo, disk, tools, the service manager, clock, lock) and at the load balancer.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, errorMessage } from '../errors.js';
import { describeOwner, lockHealth, parseOwner } from '../gates/lock.js';
import { limit, session } from '../pipeline/context.js';
import { behindLb, openLb } from '../pipeline/rollout/drain.js';
import { doctorProbe, parseDoctor } from '../remote/doctor.js';
import { platformsDiffer } from '../remote/platform.js';
import { localPlatform } from '../transport/platform.js';
import { serviceCheck, serviceProbe } from '../remote/service.js';
import type { OpenRun } from './compose.js';
import type { Observation } from './observe.js';
import { withObserved } from './observed.js';
import { SHARED_FILE, sharedRows } from './shared-rows.js';
import { sharesAnything } from '../pipeline/phases/shared-check.js';

/** One check of one node (or of the load balancer): `blocks` when it failed and stops a release. */
export interface DoctorCheck {
  readonly node: string;
  readonly check: string;
  readonly ok: boolean;
  readonly blocks: boolean;
  readonly detail: string;
}

/** The exit code of `deploy doctor`: 0, 2 when a shared file is missing (bad input, as a deploy), else 1. */
export function doctorExit(rows: readonly DoctorCheck[]): number {
  const blocking = rows.filter((r) => r.blocks);
  if (blocking.length === 0) return EXIT.ok;
  return blocking.some((r) => r.check === SHARED_FILE) ? EXIT.usage : EXIT.failed;
}

export async function doctor(env: string, config?: string): Promise<DoctorCheck[]> {
  return withObserved({ env, config, command: 'doctor', inspect: false }, ({ run, seen }) => checks(run, seen));
}

async function checks(run: OpenRun, seen: Observation): Promise<DoctorCheck[]> {
  // Room to plan for, from the largest artifact built here: 3x a tarball (it and its unpacked copy),
  // 2x a release directory (rsync uploads); else 100 MB.
  const artifacts = path.join(run.stateDir, 'artifacts');
  const metas = fs.existsSync(artifacts) ? fs.readdirSync(artifacts).filter((f) => f.endsWith('.json')) : [];
  const bytes = (f: string) =>
    (JSON.parse(fs.readFileSync(path.join(artifacts, f), 'utf8')) as { bytes: number }).bytes;
  const wanted = metas.map((f) => bytes(f) * (f.endsWith('.d.json') ? 2 : 3));
  const needKb = Math.ceil((wanted.length ? Math.max(...wanted) : 100e6) / 1024);
  const rows: DoctorCheck[] = [];
  const add = (node: string, check: string, ok: boolean, detail: string, blocks = true) =>
    rows.push({ node, check, ok, blocks: blocks && !ok, detail });
  // Each node's platform, held against the build's once every node has said its own (build.on may name one).
  const platforms = new Map<string, string | undefined>();
  const details = new Map<string, string>();
  for (const node of seen.nodes) {
    const down = seen.unreachable.get(node.name);
    const verified = `host key verified${run.config.ssh.strictHostKeys ? '' : ' (NOT: strictHostKeys is off)'}`;
    add(node.name, 'ssh', !down, down ?? `${node.user}@${node.address}:${node.port}, ${verified}`);
    if (down) continue;
    const before = Date.now();
    const result = await session(seen.ctx, node).exec(doctorProbe(seen.ctx.layout), limit(seen.ctx, 'probe'));
    const local = (before + Date.now()) / 2000;
    const f = parseDoctor(result.stdout);
    const writable = f.writable ? 'writable' : `NOT writable by ${node.user}`;
    add(
      node.name,
      'deployTo',
      f.writable,
      `${run.config.deployTo} ${f.exists ? 'exists' : 'will be created'}, ${writable}`,
    );
    const free = `${Math.round((f.freeKb ?? 0) / 1024)} MB free, ${Math.round(needKb / 1024)} MB wanted`;
    add(node.name, 'disk', (f.freeKb ?? 0) >= needKb, free);
    // What the node needs for the configured upload and fan-out mode.
    const mode = run.config.rollout.fanout.mode;
    const rsync = run.config.rollout.upload === 'rsync' || mode === 'relay';
    const need = (name: string, has: boolean, needed: boolean) =>
      `${name} ${has ? 'yes' : needed ? 'MISSING' : 'no (not needed)'}`;
    const tools = [
      need('tar', f.tar, true),
      need('mv -T', f.mvT, true),
      need('rsync', f.rsync, rsync),
      ...(mode === 'relay' ? [need('ssh', f.ssh, true)] : []),
      ...(mode === 'pull' ? [need('curl or wget', f.fetch, true)] : []),
    ].join(', ');
    const fine = f.tar && f.mvT && (!rsync || f.rsync) && (mode !== 'relay' || f.ssh) && (mode !== 'pull' || f.fetch);
    add(node.name, 'tools', fine, tools);
    const service = run.config.service;
    if (service) {
      const probe = await session(seen.ctx, node).exec(serviceProbe(service), limit(seen.ctx, 'probe'));
      const found = serviceCheck(service, probe.stdout);
      add(node.name, 'service', found.ok, found.detail);
    }
    const skew = f.clock === undefined ? undefined : Math.abs(f.clock - local);
    const clock = skew === undefined ? 'unknown' : `${skew.toFixed(2)} s from this machine`;
    add(node.name, 'clock', skew !== undefined && skew < 5, clock, false);
    platforms.set(node.name, f.platform?.platform);
    details.set(
      node.name,
      f.platform ? `${f.platform.machine}, ${f.platform.libc} (${f.platform.platform})` : 'unknown',
    );
    const owner = parseOwner(f.lock);
    const dead = owner ? lockHealth(owner, new Date(), run.config.lock.ttlMs) : undefined;
    const gone = dead?.deadPid || dead?.stale;
    const holder = f.lock ? describeOwner(f.lock, new Date(), run.config.lock.ttlMs) : '';
    const lock = f.lock
      ? `held by ${holder}${gone ? ' (its owner is gone: the next deploy takes it over)' : ''}`
      : 'free';
    add(node.name, 'lock', !f.lock || Boolean(gone), lock);
    if (sharesAnything(seen.ctx)) for (const row of await sharedRows(seen.ctx, node)) add(node.name, ...row);
  }
  rows.push(...platformRows(run, platforms, details));
  if (run.inventory.lb && run.inventory.lb.driver !== 'none') {
    try {
      await openLb(seen.ctx);
      const states = await seen.ctx.lb.states(behindLb(seen.ctx, seen.nodes));
      const admin = [...states].map(([n, s]) => `${n} ${s.admin}${s.up ? '' : ' DOWN'}`);
      add('lb', run.inventory.lb.driver, true, admin.join(', '));
    } catch (error) {
      add('lb', run.inventory.lb.driver, false, errorMessage(error).split('\n')[0] ?? '');
    }
  }
  return rows;
}

/**
 * One row per node: its architecture and libc, and whether it matches the platform the build runs on
 * (this machine, or the node build.on names). A warning, never a block: only native addons care.
 */
function platformRows(
  run: OpenRun,
  platforms: ReadonlyMap<string, string | undefined>,
  details: ReadonlyMap<string, string>,
): DoctorCheck[] {
  const on = run.config.build.on;
  let built: string | undefined;
  let where = 'this machine';
  try {
    built = on === 'local' ? localPlatform() : platforms.get(on);
    if (on !== 'local') where = on;
  } catch {
    built = undefined;
  }
  return [...details].map(([node, detail]) => {
    const seen = platforms.get(node);
    const ok = Boolean(seen && built && !platformsDiffer(built, seen));
    const against = built ? `builds on ${where}: ${built}` : `the platform of ${where} is unknown`;
    const note = ok || !built || !seen ? '' : ': native addons built there may not load here';
    return { node, check: 'platform', ok, blocks: false, detail: `${detail}; ${against}${note}` };
  });
}
