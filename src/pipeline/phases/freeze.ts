import fs from 'node:fs';
import path from 'node:path';
import { LockError, RelinkError } from '../../errors.js';
import { describeOwner, parseOwner } from '../../gates/lock.js';
import { acquireRemoteLocks, breakForeignLocks, ownerFor } from './locks.js';
import { releaseLock } from '../../remote/lock.js';
import { execOk, state } from '../context.js';
import type { Observation } from './observe.js';
import { journalEvent, record } from './record.js';

function freezeFile(stateDir: string, env: string): string {
  return path.join(stateDir, `freeze-${env}.json`);
}

function requireAll(seen: Observation): void {
  if (seen.unreachable.size) {
    const [node, why] = [...seen.unreachable][0]!;
    throw new RelinkError(`${node} is unreachable (${why}); nothing was changed`, {
      hint: 'the lock must be on every node: bring the node back or take it out of the inventory',
    });
  }
}

/** `deploy lock <env> -m "..."`: takes the deploy lock on every node as a freeze; deploys refuse until unlocked. */
export async function freeze(seen: Observation, stateDir: string, message: string): Promise<string> {
  requireAll(seen);
  const { ctx, nodes } = seen;
  await acquireRemoteLocks(ctx, nodes, ownerFor(ctx, { kind: 'freeze', message }));
  await Promise.all(nodes.map((node) => record(ctx, node, journalEvent(ctx, node, 'frozen', { reason: message }))));
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(freezeFile(stateDir, ctx.config.env), `${JSON.stringify({ run: ctx.runId, message })}\n`);
  return ctx.runId;
}

/**
 * `deploy unlock <env>`: releases the locks held by the given run id (default:
 * the freeze this machine took). Locks of other runs need `--force`, which is
 * journaled on every node.
 */
export async function unfreeze(
  seen: Observation,
  stateDir: string,
  runId: string | undefined,
  force: boolean,
): Promise<string[]> {
  const { ctx, nodes } = seen;
  const file = freezeFile(stateDir, ctx.config.env);
  const mine =
    runId ?? (fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { run: string }).run : undefined);
  const held = nodes.filter((n) => state(ctx, n).lock);
  if (held.length === 0) {
    if (fs.existsSync(file)) fs.rmSync(file);
    return [];
  }
  if (force) {
    await breakForeignLocks(ctx, held, `unlock --force by ${ctx.user}`);
  } else {
    const foreign = held.filter((n) => parseOwner(state(ctx, n).lock)?.run !== mine);
    if (foreign.length) {
      const names = foreign.map((n) => n.name).join(', ');
      const owner = describeOwner(state(ctx, foreign[0]!).lock, ctx.deps.now(), ctx.config.lock.ttlMs);
      throw new LockError(`the lock on ${names} is held by ${owner}`, {
        hint: `if that run is dead or the freeze is over: deploy unlock ${ctx.config.env} --force`,
      });
    }
    await Promise.all(
      held.map(async (node) => {
        await execOk(ctx, node, releaseLock(ctx.layout, mine!), { kind: 'lock' });
        if (parseOwner(state(ctx, node).lock)?.kind === 'freeze')
          await record(ctx, node, journalEvent(ctx, node, 'unfrozen', {}));
      }),
    );
  }
  if (fs.existsSync(file)) fs.rmSync(file);
  return held.map((n) => n.name);
}
