export async function doctorCommand(argv: { env: string; json?: boolean; config?: string }): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { session } = await import('../pipeline/context.js');
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
  const wanted = metas.map((f) => (JSON.parse(fs.readFileSync(path.join(artifacts, f), 'utf8')) as { bytes: number }).bytes * (f.endsWith('.d.json') ? 2 : 3));
  const needKb = Math.ceil((wanted.length ? Math.max(...wanted) : 100e6) / 1024);
  const rows: { node: string; check: string; ok: boolean; blocks: boolean; detail: string }[] = [];
  const add = (node: string, check: string, ok: boolean, detail: string, blocks = true) => rows.push({ node, check, ok, blocks: blocks && !ok, detail });
  try {
    for (const node of seen.nodes) {
      const down = seen.unreachable.get(node.name);
      add(node.name, 'ssh', !down, down ?? `${node.user}@${node.address}:${node.port}, host key verified${run.config.ssh.strictHostKeys ? '' : ' (NOT: strictHostKeys is off)'}`);
      if (down) continue;
      const before = Date.now();
      const result = await session(seen.ctx, node).exec(doctorProbe(seen.ctx.layout));
      const local = (before + Date.now()) / 2000;
      const f = parseDoctor(result.stdout);
      add(node.name, 'deployTo', f.writable, `${run.config.deployTo} ${f.exists ? 'exists' : 'will be created'}, ${f.writable ? 'writable' : `NOT writable by ${node.user}`}`);
      add(node.name, 'disk', (f.freeKb ?? 0) >= needKb, `${Math.round((f.freeKb ?? 0) / 1024)} MB free, ${Math.round(needKb / 1024)} MB wanted`);
      add(node.name, 'tools', f.tar && f.mvT && (run.config.rollout.upload !== 'rsync' || f.rsync), `tar ${f.tar ? 'yes' : 'MISSING'}, mv -T ${f.mvT ? 'yes' : 'MISSING'}, rsync ${f.rsync ? 'yes' : run.config.rollout.upload === 'rsync' ? 'MISSING' : 'no (not needed)'}`);
      const skew = f.clock === undefined ? undefined : Math.abs(f.clock - local);
      add(node.name, 'clock', skew !== undefined && skew < 5, skew === undefined ? 'unknown' : `${skew.toFixed(2)} s from this machine`, false);
      const owner = parseOwner(f.lock);
      const dead = owner ? lockHealth(owner, new Date(), run.config.lock.ttlMs) : undefined;
      add(node.name, 'lock', !f.lock || Boolean(dead?.deadPid || dead?.stale), f.lock ? `held by ${describeOwner(f.lock, new Date(), run.config.lock.ttlMs)}${dead?.deadPid || dead?.stale ? ' (its owner is gone: the next deploy takes it over)' : ''}` : 'free');
    }
    if (run.inventory.lb && run.inventory.lb.driver !== 'none') {
      try {
        await openLb(seen.ctx);
        const states = await seen.ctx.lb.states(behindLb(seen.ctx, seen.nodes));
        add('lb', run.inventory.lb.driver, true, [...states].map(([n, s]) => `${n} ${s.admin}${s.up ? '' : ' DOWN'}`).join(', '));
      } catch (error) {
        add('lb', run.inventory.lb.driver, false, errorMessage(error).split('\n')[0] ?? '');
      }
    }
    const blocking = rows.filter((r) => r.blocks);
    if (argv.json) process.stdout.write(JSON.stringify({ env: argv.env, ok: blocking.length === 0, checks: rows }, null, 2) + '\n');
    else {
      for (const r of rows) process.stdout.write(`${r.node.padEnd(10)} ${r.check.padEnd(9)} ${r.ok ? 'ok  ' : r.blocks ? 'FAIL' : 'warn'}  ${r.detail}\n`);
      process.stdout.write(blocking.length ? `\n${blocking.length} problem(s) block a release to ${argv.env}\n` : `\nnothing blocks a release to ${argv.env}\n`);
    }
    if (blocking.length) process.exitCode = 1;
  } finally {
    await seen.close();
    await run.close();
  }
}
