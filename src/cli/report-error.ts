import { phrase } from '../app/phrase.js';
import { EXIT, failedCommand, RelinkError } from '../errors.js';
import { processRedactor } from '../log/redact.js';

/**
 * The one top-level catch: message and hint, the stack only with --verbose,
 * all through the process's redactor (an error can quote a command's output).
 * Returns the exit code.
 */
export function report(error: unknown, verbose: boolean): number {
  const write = (text: string) => process.stderr.write(`${processRedactor.apply(text)}\n`);
  if (error instanceof RelinkError) {
    write(`error: ${error.message}`);
    if (error.hint) write(`next: ${phrase(error.hint)}`);
    const command = verbose ? failedCommand(error) : undefined;
    if (command) write(`command: ${command}`);
    if (verbose && error.stack) write(error.stack);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  // yargs reports bad arguments as plain errors.
  const isUsage =
    error instanceof Error &&
    (error.name === 'YError' || /Unknown argument|Not enough non-option|Missing required|Invalid values/.test(message));
  write(`error: ${message}`);
  if (verbose && error instanceof Error && error.stack) write(error.stack);
  return isUsage ? EXIT.usage : EXIT.failed;
}
