import { UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {
  open: {
    type: 'boolean',
    describe: 'every known bug still open: no fix yet, or a node still runs it without the fix',
  },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'impact [id]',
  describe: 'every environment and node whose current release contains the bug without its fix (or: impact --open)',
  builder: (y) =>
    y
      .positional('id', { type: 'string' })
      .options(options)
      .check((a) => {
        if (Boolean(a.id) === Boolean(a.open)) throw new UsageError('name a poison record, or give --open');
        return true;
      }),
  handler: (argv) => impactCommand(argv),
});

type Affected = readonly { env: string; node: string; version?: string; release: string }[];

export async function impactCommand(argv: { id?: string; open?: boolean; json?: boolean; config?: string }) {
  const { openGate } = await import('./poison-records.js');
  const { impactOf, openImpact } = await import('../app/impact.js');
  const { printable, table } = await import('../log/listing.js');
  const { git, root, records, recordOrFail } = await openGate(argv.config);
  const rowsOf = (affected: Affected) => table(affected.map((a) => [a.env, a.node, a.version ?? '?', a.release]));
  let unreachable: readonly { env: string; node: string }[];
  if (argv.open) {
    const found = await openImpact(git, await records(), root, argv.config);
    ({ unreachable } = found);
    if (argv.json) {
      const { openImpactJson, printJson } = await import('../app/shapes.js');
      printJson(openImpactJson, found);
    } else if (found.bugs.length === 0)
      process.stdout.write('no known bug is open: every one has its fix everywhere\n');
    for (const bug of argv.json ? [] : found.bugs) {
      const fixed = bug.cures.length ? `fixed by ${bug.cures.map((c) => c.slice(0, 12)).join(', ')}` : 'NO FIX yet';
      const how = bug.affected.length ? `${bug.affected.length} node(s) run it without the fix` : 'no node runs it';
      process.stdout.write(`${bug.id} (${printable(bug.comment)}), ${fixed}: ${how}\n`);
      for (const line of rowsOf(bug.affected)) process.stdout.write(`  ${line}\n`);
    }
  } else {
    const record = recordOrFail(await records(), argv.id!);
    const found = await impactOf(git, record, root, argv.config);
    ({ unreachable } = found);
    if (argv.json) {
      const { impactJson, printJson } = await import('../app/shapes.js');
      printJson(impactJson, found);
    } else {
      const n = found.affected.length;
      const how = n ? `${n} node(s) run it without the fix` : 'no node runs it without the fix';
      process.stdout.write(`${record.id} (${printable(record.comment)}): ${how}\n`);
      for (const line of rowsOf(found.affected)) process.stdout.write(`  ${line}\n`);
    }
  }
  for (const u of unreachable) process.stderr.write(`warning: ${u.env}/${u.node} unreachable: not checked\n`);
  if (unreachable.length) process.exitCode = 1;
}
