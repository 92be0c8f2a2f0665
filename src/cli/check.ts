import { type OptionSet, verb } from './options.js';

export const options = {
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'check <rev>',
  describe: '"healthy", or the known bugs in the history of <rev> without their fix (exit 3)',
  builder: (y) => y.positional('rev', { type: 'string', demandOption: true }).options(options),
  handler: (argv) => checkCommand(argv),
});

export async function checkCommand(argv: { rev: string; json?: boolean; config?: string }): Promise<void> {
  const { openRepo, records, commitOrFail } = await import('./poison-records.js');
  const { git } = await openRepo(argv.config);
  const { checkHistory, open, describeOpen } = await import('../gates/poison.js');
  const { EXIT } = await import('../errors.js');
  const commit = await commitOrFail(git, argv.rev);
  const findings = await checkHistory(git, commit, await records(git));
  const openOnes = open(findings);
  if (argv.json) {
    const cured = findings.filter((f) => f.curedBy).map((f) => ({ id: f.record.id, curedBy: f.curedBy, how: f.how }));
    const body = { rev: argv.rev, commit, healthy: openOnes.length === 0, open: openOnes.map((f) => f.record), cured };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else if (openOnes.length === 0) {
    const all = findings.length ? ` (${findings.length} known bug(s) in its history, all cured)` : '';
    process.stdout.write(`${argv.rev}: healthy${all}\n`);
  } else {
    process.stdout.write(
      `${argv.rev}: ${openOnes.length} known bug(s) without their fix:\n${describeOpen(findings)}\n`,
    );
  }
  if (openOnes.length) process.exitCode = EXIT.gate;
}
