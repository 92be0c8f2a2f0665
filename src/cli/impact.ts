import { type OptionSet, verb } from './options.js';

export const options = {
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'impact <id>',
  describe: 'every environment and node whose current release contains the bug without its fix',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }).options(options),
  handler: (argv) => impactCommand(argv),
});

export async function impactCommand(argv: { id: string; json?: boolean; config?: string }): Promise<void> {
  const { openRepo, recordOrFail, records } = await import('./poison-records.js');
  const { git, root } = await openRepo(argv.config);
  const { checkHistory } = await import('../gates/poison.js');
  const { knownEnvironments } = await import('../inventory/load.js');
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const { releaseRecords } = await import('../journal/releases.js');
  const all = await records(git);
  const record = await recordOrFail(all, argv.id);
  const verdicts = new Map<string, boolean>();
  const affected: { env: string; node: string; release: string; version?: string; commit: string }[] = [];
  const unreachable: { env: string; node: string }[] = [];
  for (const env of knownEnvironments(root)) {
    const run = await openRun({ env, config: argv.config, command: 'impact', quiet: true, runLog: false });
    const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
    try {
      for (const node of seen.nodes) {
        if (seen.unreachable.has(node.name)) {
          unreachable.push({ env, node: node.name });
          continue;
        }
        const s = state(seen.ctx, node);
        const current = s.current ? releaseRecords(s.events).get(s.current) : undefined;
        if (!current?.commit) continue;
        if (!verdicts.has(current.commit)) {
          const known = await git.resolve(current.commit);
          const findings = known ? await checkHistory(git, current.commit, [record]) : [];
          verdicts.set(
            current.commit,
            findings.some((f) => !f.curedBy),
          );
        }
        if (verdicts.get(current.commit)) {
          affected.push({
            env,
            node: node.name,
            release: s.current!,
            version: current.version,
            commit: current.commit,
          });
        }
      }
    } finally {
      await seen.close();
      await run.close();
    }
  }
  if (argv.json) {
    process.stdout.write(
      `${JSON.stringify({ id: record.id, poison: record.commit, affected, unreachable }, null, 2)}\n`,
    );
  } else {
    const how = affected.length
      ? `${affected.length} node(s) run it without the fix`
      : 'no node runs it without the fix';
    const { printable, table } = await import('../log/listing.js');
    process.stdout.write(`${record.id} (${printable(record.comment)}): ${how}\n`);
    const rows = affected.map((a) => [a.env, a.node, a.version ?? '?', a.release]);
    for (const line of table(rows, { indent: '  ' })) process.stdout.write(`${line}\n`);
  }
  for (const u of unreachable) process.stderr.write(`warning: ${u.env}/${u.node} unreachable: not checked\n`);
  if (unreachable.length) process.exitCode = 1;
}
