import { type OptionSet, verb } from './options.js';

export const options = {} as const satisfies OptionSet;

export const command = verb({
  command: 'cure <id> <fix>',
  describe: 'record the commit that fixes a poisoned bug',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .positional('fix', { type: 'string', demandOption: true })
      .options(options),
  handler: (argv) => cureCommand(argv),
});

export async function cureCommand(argv: { id: string; fix: string; config?: string }): Promise<void> {
  const { openGate } = await import('./poison-records.js');
  const { git, user, records, recordOrFail, resolveCommit, cureRecord } = await openGate(argv.config);
  const target = recordOrFail(await records(), argv.id);
  const fix = await resolveCommit(git, argv.fix);
  if (!(await git.isAncestor(target.commit, fix))) {
    process.stderr.write(
      `warning: ${fix.slice(0, 12)} does not descend from the poison ${target.commit.slice(0, 12)}; ` +
        'recorded anyway (a cherry-pick onto another branch is fine)\n',
    );
  }
  await cureRecord(git, target, fix, user);
  process.stdout.write(`${argv.id} cured by ${fix.slice(0, 12)}\n`);
}
