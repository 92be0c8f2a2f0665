// The exit codes, read from src/errors.ts (EXIT): a code added there without a line here fails the
// generator, and so the docs test.
import { EXIT } from '../../src/errors.js';

const MEANING: Record<keyof typeof EXIT, { means: string; errors: string }> = {
  ok: { means: 'done', errors: '' },
  failed: {
    means:
      'failed: the release or command did not succeed (a deploy rolls back the nodes it switched, unless ' +
      '`--on-failure halt`)',
    errors: '`RelinkError`, `RemoteError`',
  },
  usage: {
    means:
      'bad input (an unknown environment, a missing tag, an invalid config or inventory, a bad option); nothing was changed',
    errors: '`UsageError`',
  },
  gate: {
    means: 'refused by a gate (a poison without its cure, outside the release windows); nothing was changed',
    errors: '`GateError`',
  },
  lock: { means: 'the deploy lock is held by another run or a freeze; nothing was changed', errors: '`LockError`' },
  interrupted: {
    means:
      'interrupted (SIGINT, SIGTERM) after undoing what the run changed and releasing its locks; journaled as ' +
      '`interrupted`, and the message says the command that resumes',
    errors: '`InterruptedError`',
  },
};

export interface ExitCode {
  readonly name: string;
  readonly code: number;
  readonly means: string;
  readonly errors: string;
}

export function exitCodes(): ExitCode[] {
  return Object.entries(EXIT).map(([name, code]) => {
    const meaning = MEANING[name as keyof typeof EXIT];
    if (!meaning) throw new Error(`EXIT.${name} (src/errors.ts) is not described in scripts/docs/exit-codes.ts`);
    return { name, code, ...meaning };
  });
}
