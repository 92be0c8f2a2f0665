// RunDeps, built in one place: what a run gets from outside (its transport, http probes, the clock,
// its reporter and redactor, the abort signal). The doors never build it; openRun and readEnv call this.
// Also who is deploying.
import os from 'node:os';
import type { Reporter } from '../log/events.js';
import type { Redactor } from '../log/redact.js';
import type { RunDeps } from '../pipeline/context.js';
import { httpGet } from '../transport/http.js';
import { runLocal } from '../transport/local.js';
import type { Transport } from '../transport/types.js';
import { phrase } from './phrase.js';

export function runDeps(parts: {
  readonly transport: Transport;
  readonly reporter: Reporter;
  readonly redactor: Redactor;
  readonly signal?: AbortSignal;
}): RunDeps {
  return {
    transport: parts.transport,
    probe: httpGet,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    reporter: parts.reporter,
    redactor: parts.redactor,
    phrase,
    signal: parts.signal,
  };
}

/** Who is deploying: --author, else git's user.name on this machine, else the login name. */
export async function whoAmI(explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const git = await runLocal('git', ['config', 'user.name']);
  return git.stdout.trim() || os.userInfo().username;
}

/** A reporter that prints nothing (read-only operations). */
export const silent: Reporter = { emit: () => undefined, close: () => undefined };
