import { UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {
  message: { alias: 'm', type: 'string', describe: 'what the bug is' },
  ticket: { type: 'string', describe: 'issue tracker reference' },
  open: { type: 'boolean', describe: 'with "list": only records without a cure' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'poison <target> [id]',
  describe:
    'record a known bug at the commit that brought it in (poison <commit> -m "..."), or: poison list, poison show <id>',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'a commit, or "list" / "show"' })
      .positional('id', { type: 'string', describe: 'with "show": the record id' })
      .options(options),
  handler: (argv) => poisonCommand(argv),
});

export async function poisonCommand(argv: {
  target: string;
  id?: string;
  message?: string;
  ticket?: string;
  open?: boolean;
  json?: boolean;
  config?: string;
}): Promise<void> {
  const { openGate } = await import('./poison-records.js');
  const { git, user, records, recordOrFail, resolveCommit, poisonCommit } = await openGate(argv.config);
  if (argv.target === 'list' || argv.target === 'show') {
    const all = await records();
    const { table } = await import('../log/listing.js');
    if (argv.target === 'show') {
      if (!argv.id) throw new UsageError('name the record: deploy poison show <id>');
      const r = recordOrFail(all, argv.id);
      if (argv.json) {
        const { poisonRecord, printJson } = await import('../app/shapes.js');
        printJson(poisonRecord, r);
        return;
      }
      const cures = r.cures.length
        ? r.cures.map((c, i) => [i ? '' : 'cured by', `${c.commit} (${c.who}, ${c.when})`])
        : [['cured by', '(no cure yet: deploy cure <id> <fix-commit>)']];
      const rows = [
        ['poison', `${r.id}  ${r.cures.length ? 'cured' : 'OPEN'}`],
        ['commit', r.commit],
        ['bug', r.comment],
        ['ticket', r.ticket ?? '-'],
        ['recorded', `${r.who}, ${r.when}`],
        ...cures,
      ];
      process.stdout.write(`${table(rows).join('\n')}\n`);
      return;
    }
    const list = argv.open ? all.filter((r) => r.cures.length === 0) : all;
    if (argv.json) {
      const { poisonList, printJson } = await import('../app/shapes.js');
      printJson(poisonList, list);
      return;
    }
    if (list.length === 0) {
      process.stdout.write(argv.open ? 'no open poison records\n' : 'no poison records\n');
      return;
    }
    const rows = list.map((r) => [
      r.id,
      r.commit.slice(0, 12),
      r.cures.length ? `cured by ${r.cures.map((c) => c.commit.slice(0, 12)).join(', ')}` : 'OPEN',
      r.comment,
      r.ticket ? `[${r.ticket}]` : '',
      `(${r.who}, ${r.when.slice(0, 10)})`,
    ]);
    process.stdout.write(`${table(rows).join('\n')}\n`);
    return;
  }
  if (!argv.message) throw new UsageError('say what the bug is: deploy poison <commit> -m "..."');
  const commit = await resolveCommit(git, argv.target);
  const record = await poisonCommit(git, commit, { comment: argv.message, ticket: argv.ticket, who: user });
  process.stdout.write(`${record.id}\n`);
  process.stderr.write(
    `poisoned ${commit.slice(0, 12)} as ${record.id}; which environments run it: deploy impact ${record.id}\n`,
  );
}
