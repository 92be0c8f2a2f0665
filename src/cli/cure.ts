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
  const { openRepo, recordOrFail, records, commitOrFail } = await import('./poison-records.js');
  const { git, user } = await openRepo(argv.config);
  const { writeRecord } = await import('../gates/poison.js');
  const all = await records(git);
  await recordOrFail(all, argv.id);
  const fix = await commitOrFail(git, argv.fix);
  const target = all.find((r) => r.id === argv.id)!;
  if (!(await git.isAncestor(target.commit, fix))) {
    process.stderr.write(
      `warning: ${fix.slice(0, 12)} does not descend from the poison ${target.commit.slice(0, 12)}; ` +
        'recorded anyway (a cherry-pick onto another branch is fine)\n',
    );
  }
  const when = new Date().toISOString();
  await writeRecord(
    git,
    (current) => {
      const latest = current.find((r) => r.id === argv.id) ?? target;
      if (latest.cures.some((c) => c.commit === fix)) return latest;
      return { ...latest, cures: [...latest.cures, { commit: fix, who: user, when }] };
    },
    `cure ${argv.id} with ${fix.slice(0, 12)}`,
  );
  process.stdout.write(`${argv.id} cured by ${fix.slice(0, 12)}\n`);
}
