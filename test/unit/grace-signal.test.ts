import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type RunContext, userLimit } from '../../src/pipeline/context.js';

const run = (signal: AbortSignal) => ({ undoing: false, deps: { signal } }) as unknown as RunContext;

describe("a user command's grace signal", () => {
  it('one per run signal, one listener on it, and as many commands as run at once may listen (no warning)', async () => {
    const controller = new AbortController();
    const ctx = run(controller.signal);
    const signals = Array.from({ length: 20 }, () => userLimit(ctx, 1000).signal);
    expect(new Set(signals).size).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    // Each command under way (ssh-session, remote-command) adds its listener to it: 20 restarts at once.
    const warnings: Error[] = [];
    const heard = (w: Error) => warnings.push(w);
    process.on('warning', heard);
    for (let i = 0; i < 20; i++) signals[0]!.addEventListener('abort', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    process.off('warning', heard);
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    // Another run (the dashboard runs several): a grace signal of its own.
    expect(userLimit(run(new AbortController().signal), 1000).signal).not.toBe(signals[0]);
  });
});
