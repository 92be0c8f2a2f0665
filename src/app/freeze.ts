import fs from 'node:fs';
import path from 'node:path';
import { LockError, RelinkError } from '../errors.js';
import { nextStep, said } from '../next.js';
import { describeOwner, parseOwner } from '../gates/lock.js';
import { acquireRemoteLocks, breakForeignLocks, ownerFor } from '../pipeline/phases/locks.js';
import { releaseLock } from '../remote/lock.js';
import { execOk, state } from '../pipeline/context.js';
import type { NodeSpec } from '../inventory/types.js';
import type { Observation } from './observe.js';
import { type ObserveOptions, withObserved } from './observed.js';
import { journalEvent, record } from '../pipeline/shared/record.js';

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
 * `deploy unlock <env>`: lifts the freeze of the given run id (default: the
 * freeze this machine took), and nothing else: a run's lock, live or dead, is
 * refused. `--force` breaks any lock, journaled on every node with who did it
 * (`lock_broken`); a run whose lock is broken stops before its next switch.
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
    const foreign = held.filter((n) => {
      const owner = parseOwner(state(ctx, n).lock);
      return owner?.kind !== 'freeze' || owner.run !== mine;
    });
    if (foreign.length) throw notMine(seen, foreign);
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

/** Why `unlock` without --force refused: a freeze of another run (name it), or a run's lock (only --force ends it). */
function notMine(seen: Observation, foreign: readonly NodeSpec[]): LockError {
  const { ctx } = seen;
  const env = ctx.config.env;
  const names = foreign.map((n) => n.name).join(', ');
  const raw = state(ctx, foreign[0]!).lock;
  const owner = parseOwner(raw);
  const who = describeOwner(raw, ctx.deps.now(), ctx.config.lock.ttlMs);
  if (owner?.kind === 'freeze')
    return new LockError(`the lock on ${names} is held by ${who}. Nothing was changed`, {
      hint: said`to lift that freeze: ${nextStep('unlock', env, { run: owner.run })}`,
    });
  return new LockError(
    `the lock on ${names} is held by ${who}: not a freeze, and unlock lifts only freezes. Nothing was changed`,
    {
      hint: said`to end that run's lock anyway: ${nextStep('unlock', env, { force: true })} ${AFTER_FORCE}`,
    },
  );
}

const AFTER_FORCE = '(journaled with your name; that run stops before its next switch and undoes what it can)';

/** Freezes an environment (`deploy lock <env> -m`, the dashboard's freeze): its run id and node count. */
export async function freezeEnv(o: Omit<ObserveOptions, 'command'> & { readonly message: string }) {
  const command = `lock ${o.env} -m ${JSON.stringify(o.message)}`;
  return withObserved({ ...o, command }, async ({ run, seen }) => ({
    run: await freeze(seen, run.stateDir, o.message),
    nodes: seen.nodes.length,
  }));
}

/** Lifts a freeze (`deploy unlock`, the dashboard's unfreeze): the nodes unlocked and those not reached. */
export async function unfreezeEnv(o: ObserveOptions & { readonly run?: string; readonly force?: boolean }) {
  return withObserved(o, async ({ run, seen }) => ({
    released: await unfreeze(seen, run.stateDir, o.run, Boolean(o.force)),
    unreachable: [...seen.unreachable.keys()],
  }));
}
