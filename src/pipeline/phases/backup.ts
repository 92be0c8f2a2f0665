import { RelinkError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { runOnNode } from '../rollout/activate.js';
import { runLocal } from '../../transport/local.js';
import { step, type RunContext } from '../context.js';
import { removeEverywhere } from '../distribution/distribute.js';
import { commandEnv, type ReleaseFacts } from '../../template/scope.js';

/**
 * The backup hook, after distribute and before any node switches: a command
 * on the deploy machine or on a named node. If it fails, the new release is
 * removed from every node and nothing was switched.
 */
export async function runBackup(ctx: RunContext, nodes: readonly NodeSpec[], facts: ReleaseFacts): Promise<void> {
  const backup = ctx.config.backup!;
  const on = backup.node ? nodes.find((n) => n.name === backup.node) : undefined;
  if (backup.node && !on)
    throw new RelinkError(`backup.node "${backup.node}" is not a node of ${ctx.config.env}`, {
      hint: `use one of: ${nodes.map((n) => n.name).join(', ')}`,
    });
  try {
    await step(ctx, 'backup:run', on, async () => {
      const env = commandEnv(ctx.config, on ?? nodes[0]!, facts);
      const result = on
        ? await runOnNode(ctx, on, ctx.layout.deployTo, backup.command, facts, backup.timeoutMs)
        : await runLocal('sh', ['-c', backup.command], {
            cwd: ctx.config.root,
            env: { ...process.env, ...env },
            timeoutMs: backup.timeoutMs,
            signal: ctx.deps.signal,
          });
      if (result.code !== 0) {
        const tail = result.stderr.trim().split('\n').slice(-3).join(' ');
        throw new RelinkError(`backup failed (exit ${result.code}): ${ctx.deps.redactor.apply(tail)}`);
      }
    });
  } catch (error) {
    await removeEverywhere(ctx, nodes, facts.release);
    throw new RelinkError(
      `${(error as Error).message}. The new release was removed from every node; nothing was switched.`,
      { hint: 'fix the backup (backup.command in deploy.config.ts) and deploy again' },
    );
  }
}
