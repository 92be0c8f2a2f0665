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
  const { openGate } = await import('./poison-records.js');
  const { impactOf } = await import('../app/impact.js');
  const { git, root, records, recordOrFail } = await openGate(argv.config);
  const record = recordOrFail(await records(), argv.id);
  const { affected, unreachable } = await impactOf(git, record, root, argv.config);
  if (argv.json) {
    const { impactJson, printJson } = await import('../app/shapes.js');
    printJson(impactJson, { id: record.id, poison: record.commit, affected, unreachable });
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
