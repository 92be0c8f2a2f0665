export async function rollbackCommand(argv: {
  env: string;
  last?: boolean;
  to?: string;
  emergency?: boolean;
  force?: boolean;
  reason?: string;
  node?: string[];
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { rollback } = await import('../pipeline/rollback.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'rollback' });
  try {
    await rollback(
      {
        config: run.config,
        inventory: run.inventory,
        user: run.user,
        runId: run.runId,
        stateDir: run.stateDir,
        target: argv.to ? { kind: 'to', spec: argv.to } : { kind: 'last' },
        emergency: argv.emergency,
        force: argv.force,
        reason: argv.reason,
        nodes: argv.node,
      },
      run.deps,
    );
  } finally {
    await run.close();
  }
}
