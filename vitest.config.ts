import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      // Some unit tests run real processes (the layer checker, a shell, a browser): 30 s, not vitest's 5 s.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'pipeline', include: ['test/pipeline/**/*.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'cli', include: ['test/cli/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts'],
          // Three files at a time, each on a sandbox of its own (sandbox-setup.ts): the files mostly wait on ssh,
          // health checks and the apps they start. RELINK_IT_WORKERS (1-4) changes it. The group runs after the
          // other layers (groupOrder), which use the same cores.
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
