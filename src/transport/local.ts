import { spawn } from 'node:child_process';

export interface LocalResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LocalOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly input?: string;
}

/** Runs a program on the deploy machine (no shell unless the caller asks for `sh -c`). */
export function runLocal(file: string, args: readonly string[], options: LocalOptions = {}): Promise<LocalResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
        }, options.timeoutMs)
      : undefined;
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: error.message });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (timedOut ? `\ntimed out after ${options.timeoutMs} ms` : '');
      resolve({ code: timedOut ? 124 : (code ?? (signal ? 128 : 1)), stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    if (child.stdin) {
      // A child that exits before reading its input is not an error of ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
