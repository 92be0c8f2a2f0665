export async function deployCommand(argv: {
  env: string;
  version: string;
  author?: string;
  onFailure?: 'rollback' | 'halt';
  node?: string[];
  allowPoison?: string[];
  emergency?: boolean;
  reason?: string;
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { deploy } = await import('../pipeline/run.js');
  const run = await openRun({ env: argv.env, config: argv.config, author: argv.author, onFailure: argv.onFailure, command: 'deploy' });
  try {
    const secrets = run.secrets();
    await deploy(
      { config: run.config, inventory: run.inventory, version: argv.version, user: run.user, runId: run.runId, stateDir: run.stateDir, secrets, nodes: argv.node, allowPoison: argv.allowPoison, emergency: argv.emergency, reason: argv.reason },
      run.deps,
      run.source,
    );
  } finally {
    await run.close();
  }
}
