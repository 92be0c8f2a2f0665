import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Every temporary file of the run (the tests', the CLIs they start, the sandboxes) goes under one directory that
// is removed when the run ends: a test process ended before its own clean-up leaves nothing behind in /tmp.
// The workers and everything they start inherit TMPDIR.
if (!process.env.RELINK_TEST_TMP) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-tests-'));
  // Traversable by other users, as /tmp is: the sandbox's nginx workers serve files from under it.
  fs.chmodSync(tmp, 0o755);
  process.env.RELINK_TEST_TMP = tmp;
  process.env.TMPDIR = tmp;
  process.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
}

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      // Some unit tests run real processes (the layer checker, a shell, a browser): 30 s, not vitest's 5 s. Two
      // files at a time (vitest's own default is one fewer than the cores: one, on the 2-core CI machine): the CLI
      // files mostly wait on the processes they start.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000, maxWorkers: 2 } },
      { test: { name: 'pipeline', include: ['test/pipeline/**/*.test.ts'], testTimeout: 30_000, maxWorkers: 2 } },
      { test: { name: 'cli', include: ['test/cli/**/*.test.ts'], testTimeout: 30_000, maxWorkers: 2 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts'],
          // Three files at a time, each on a sandbox of its own (sandbox-setup.ts). Four were tried: the 2 cores
          // are the limit (the nodes' sshd, the apps, HAProxy and the CLIs), and every file ran about twice as long.
          // RELINK_IT_WORKERS (1-4) changes it. The group runs after the other layers (groupOrder), which use the
          // same cores.
          globalSetup: ['test/helpers/sandbox-setup.ts'],
          maxWorkers: Number(process.env.RELINK_IT_WORKERS ?? 3),
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
