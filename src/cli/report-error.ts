import { EXIT, RelinkError } from '../errors.js';

/** The one top-level catch: message and hint, the stack only with --verbose. Returns the exit code. */
export function report(error: unknown, verbose: boolean): number {
  if (error instanceof RelinkError) {
    process.stderr.write(`error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`next: ${error.hint}\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  // yargs reports bad arguments as plain errors.
  const isUsage =
    error instanceof Error &&
    (error.name === 'YError' || /Unknown argument|Not enough non-option|Missing required|Invalid values/.test(message));
  process.stderr.write(`error: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return isUsage ? EXIT.usage : EXIT.failed;
}
