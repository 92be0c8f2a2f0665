import { spawn } from 'node:child_process';
import { render, type Command } from '../remote/tokens.js';

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
  /** The run's abort signal: the program and everything it started are stopped when it fires. */
  readonly signal?: AbortSignal;
}

/** Grace between SIGTERM and SIGKILL for a program that overran its time or was interrupted. */
const KILL_AFTER_MS = 5_000;

/**
 * Runs a program on the deploy machine (no shell unless the caller asks for
 * `sh -c`), in a process group of its own: on timeout or abort the whole
 * group is stopped (SIGTERM, then SIGKILL), so a build's children do not
 * outlive it.
 */
export function runLocal(file: string, args: readonly string[], options: LocalOptions = {}): Promise<LocalResult> {
  return new Promise((resolve) => {
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const env = options.env ?? process.env;
    const child = spawn(file, args, { cwd: options.cwd, env, stdio: [stdin, 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let stopped: 'timeout' | 'abort' | undefined;
    let killer: NodeJS.Timeout | undefined;
    const stopGroup = (why: 'timeout' | 'abort') => {
      if (stopped) return;
      stopped = why;
      signalGroup(child.pid, 'SIGTERM');
      killer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_AFTER_MS);
      killer.unref();
    };
    const timer = options.timeoutMs ? setTimeout(() => stopGroup('timeout'), options.timeoutMs) : undefined;
    const onAbort = () => stopGroup('abort');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (result: LocalResult) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // The group may hold children that ignored SIGTERM: they go with the leader.
      if (stopped) signalGroup(child.pid, 'SIGKILL');
      if (killer) clearTimeout(killer);
      resolve(result);
    };
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => settle({ code: 127, stdout: '', stderr: error.message }));
    child.on('close', (code, signal) => {
      const note = stopped === 'timeout' ? `\ntimed out after ${options.timeoutMs} ms` : stopped ? '\ninterrupted' : '';
      const stderr = Buffer.concat(err).toString('utf8') + note;
      const status = stopped === 'timeout' ? 124 : stopped ? 130 : (code ?? (signal ? 128 : 1));
      settle({ code: status, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    if (child.stdin) {
      // A child that exits before reading its input is not an error of ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Runs a command (tokens, as for a node) on the deploy machine through `sh -c` of its rendered text. */
export function runLocalCommand(command: Command, options: LocalOptions = {}): Promise<LocalResult> {
  return runLocal('sh', ['-c', render(command)], options);
}
