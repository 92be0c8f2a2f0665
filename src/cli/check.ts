import { EXIT } from '../errors.js';
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
  const { openGate } = await import('./poison-records.js');
  const { git, records, checkRevision, describeOpen } = await openGate(argv.config);
  const { body, findings } = await checkRevision(git, argv.rev, () => records());
  const openOnes = body.open;
  if (argv.json) {
    const { checkJson, printJson } = await import('../app/shapes.js');
    printJson(checkJson, body);
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
