import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'doctor <env>',
  describe: 'checks before a release, per node: ssh and host keys, deployTo, disk, tools, clock, lock, load balancer',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => doctorCommand(argv),
});

export async function doctorCommand(argv: { env: string; json?: boolean; config?: string }): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { limit, session } = await import('../pipeline/context.js');
  const { doctorProbe, parseDoctor } = await import('../remote/doctor.js');
  const { describeOwner, lockHealth, parseOwner } = await import('../gates/lock.js');
  const { openLb, behindLb } = await import('../pipeline/rollout/drain.js');
  const { errorMessage } = await import('../errors.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'doctor', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps, undefined, false);
  // Room to plan for, from the largest artifact built here: 3x a tarball (it and its unpacked copy),
  // 2x a release directory (rsync uploads); else 100 MB.
  const artifacts = path.join(run.stateDir, 'artifacts');
  const metas = fs.existsSync(artifacts) ? fs.readdirSync(artifacts).filter((f) => f.endsWith('.json')) : [];
  const bytes = (f: string) =>
    (JSON.parse(fs.readFileSync(path.join(artifacts, f), 'utf8')) as { bytes: number }).bytes;
  const wanted = metas.map((f) => bytes(f) * (f.endsWith('.d.json') ? 2 : 3));
  const needKb = Math.ceil((wanted.length ? Math.max(...wanted) : 100e6) / 1024);
  const rows: { node: string; check: string; ok: boolean; blocks: boolean; detail: string }[] = [];
  const add = (node: string, check: string, ok: boolean, detail: string, blocks = true) =>
    rows.push({ node, check, ok, blocks: blocks && !ok, detail });
  try {
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
      const skew = f.clock === undefined ? undefined : Math.abs(f.clock - local);
      const clock = skew === undefined ? 'unknown' : `${skew.toFixed(2)} s from this machine`;
      add(node.name, 'clock', skew !== undefined && skew < 5, clock, false);
      const owner = parseOwner(f.lock);
      const dead = owner ? lockHealth(owner, new Date(), run.config.lock.ttlMs) : undefined;
      const gone = dead?.deadPid || dead?.stale;
      const holder = f.lock ? describeOwner(f.lock, new Date(), run.config.lock.ttlMs) : '';
      const lock = f.lock
        ? `held by ${holder}${gone ? ' (its owner is gone: the next deploy takes it over)' : ''}`
        : 'free';
      add(node.name, 'lock', !f.lock || Boolean(gone), lock);
    }
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
    const blocking = rows.filter((r) => r.blocks);
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ env: argv.env, ok: blocking.length === 0, checks: rows }, null, 2)}\n`);
    } else {
      const { table } = await import('../log/listing.js');
      const cells = rows.map((r) => [r.node, r.check, r.ok ? 'ok' : r.blocks ? 'FAIL' : 'warn', r.detail]);
      process.stdout.write(`${table(cells).join('\n')}\n`);
      process.stdout.write(
        blocking.length
          ? `\n${blocking.length} problem(s) block a release to ${argv.env}\n`
          : `\nnothing blocks a release to ${argv.env}\n`,
      );
    }
    if (blocking.length) process.exitCode = 1;
  } finally {
    await seen.close();
    await run.close();
  }
}
