import { spawn } from 'node:child_process';

/** A node script running as a child process of this one. */
export interface NodeChild {
  /** Its exit code (128 when a signal ended it); rejects when it could not be started. */
  readonly exited: Promise<number>;
  /** Asks it to stop: SIGTERM unless told otherwise. */
  kill(signal?: NodeJS.Signals): void;
}

/** Runs a node script with the node that runs us, its stdio inherited (its output is ours). */
export function runNodeScript(script: string, args: readonly string[]): NodeChild {
  const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return {
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
    },
  };
}
