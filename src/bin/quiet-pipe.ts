import { nodesChanging } from '../log/changing.js';

/**
 * A closed stdout (`deploy releases prod | head -1`) ends the command quietly
 * with exit 0, as `git log | head` does, instead of an unhandled EPIPE. A run
 * that is changing nodes is not cut short by this: it goes on to its own end
 * (switched or undone, locks released, its exit code); only the writes to the
 * closed pipe stop.
 */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (nodesChanging()) stream.write = () => true;
      else if (stream === process.stdout) process.exit(process.exitCode ?? 0);
    });
  }
}
