// The exit codes, read from src/errors.ts: EXIT, and EXIT_MEANING beside it (which `--help` prints
// too). Here only the error classes each is raised as: a code added to EXIT without a line here fails
// the generator, and so the docs test.
import { EXIT, EXIT_MEANING } from '../../src/errors.js';

const RAISED_AS: Record<keyof typeof EXIT, string> = {
  ok: '',
  failed: '`RelinkError`, `RemoteError`',
  usage: '`UsageError`',
  gate: '`GateError`',
  lock: '`LockError`',
  partial: '(the deploy returns normally; `setAside` in its outcome)',
  interrupted: '`InterruptedError`',
};

export interface ExitCode {
  readonly name: string;
  readonly code: number;
  readonly means: string;
  readonly errors: string;
}

export function exitCodes(): ExitCode[] {
  return Object.entries(EXIT).map(([name, code]) => {
    const key = name as keyof typeof EXIT;
    const errors = RAISED_AS[key];
    if (errors === undefined) throw new Error(`EXIT.${name} (src/errors.ts) has no line in scripts/docs/exit-codes.ts`);
    return { name, code, means: EXIT_MEANING[key], errors };
  });
}
