import { EXIT, RelinkError, errorMessage } from '../../errors.js';
import { nextStep } from '../../next.js';
import type { NodeSpec } from '../../inventory/types.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { RunContext } from '../context.js';
import type { OutcomeFields } from '../phases/finish.js';
import { journalEvent, record } from '../shared/record.js';
import { revertSwitched } from './revert.js';
import type { Failure, RolloutBudget } from './rollout.js';

/**
 * How many nodes of a run of `count` may be set aside (`rollout.maxFailures`):
 * a number, or a percentage rounded down, so a budget never grows past what
 * was written (10% of 5 nodes is 0).
 */
export function failureBudget(maxFailures: number | `${number}%`, count: number): number {
  if (typeof maxFailures === 'number') return maxFailures;
  return Math.floor((count * Number.parseInt(maxFailures, 10)) / 100);
}

/**
 * Sets the failed nodes aside when the budget allows it: none of them is the
 * pre node or one a hook names, with them the run has set aside at most its budget,
 * and at least one node is left to release to. Each is
 * named on screen and remembered for the outcome; the caller puts it back on
 * its release. Returns false (and sets nothing aside) when the release must
 * stop instead.
 */
function setAside(ctx: RunContext, failed: readonly Failure[], where: string, count: number): boolean {
  const budget = failureBudget(ctx.config.rollout.maxFailures, count);
  if (failed.length === 0) return true;
  // The pre node, and every node a hook names (a `backup` with a node is one).
  const vital = [ctx.inventory.pre, ...Object.values(ctx.config.hooks).flatMap((list) => list.map((h) => h.node))];
  if (budget === 0 || failed.some((f) => vital.includes(f.node.name))) return false;
  if (ctx.setAside.size + failed.length > budget) return false;
  // A release that reaches no node is a failed release, whatever the budget says.
  if (ctx.setAside.size + failed.length >= count) return false;
  for (const { node, error } of failed) {
    const why = `${where}: ${errorMessage(error).split('\n')[0]}`;
    ctx.setAside.set(node.name, why);
    const left = `${ctx.setAside.size} of ${budget} allowed (rollout.maxFailures)`;
    ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `set aside, ${left}: ${why}` });
  }
  return true;
}

/** Journals `set_aside` on the nodes that can still be reached; a node that is gone is named by the others. */
async function journalSetAside(ctx: RunContext, nodes: readonly NodeSpec[], release: string): Promise<void> {
  await Promise.all(
    nodes
      .filter((node) => ctx.sessions.has(node.name))
      .map((node) =>
        record(ctx, node, journalEvent(ctx, node, 'set_aside', { release, reason: ctx.setAside.get(node.name) })).catch(
          () => undefined,
        ),
      ),
  );
}

/** Whether a failure may be set aside: a node failed or went away (not bad input, a trust decision, an interrupt). */
function sparable(ctx: RunContext, error: unknown): boolean {
  if (ctx.deps.signal?.aborted) return false;
  return !(error instanceof RelinkError) || error.exitCode === EXIT.failed;
}

/**
 * A deploy's failure budget over its phases: connect and distribute set
 * failed nodes aside before anything switched; the rollout puts a failed node
 * back on its release and keeps it out of the load balancer. At the end the
 * outcome names them.
 */
export function spending(ctx: RunContext, count: () => number) {
  const retry = (version: string) => nextStep('deploy', ctx.config.env, { 'retry-failed': true }, [version]);
  return {
    spare:
      (where: string) =>
      (failed: readonly Failure[]): boolean =>
        failed.every((f) => sparable(ctx, f.error)) && setAside(ctx, failed, where, count()),
    rollout: (facts: ReleaseFacts): RolloutBudget => ({
      spare: (failed) => failed.every((f) => sparable(ctx, f.error)) && setAside(ctx, failed, 'rollout', count()),
      async putBack(nodes) {
        if (nodes.length === 0) return;
        const names = nodes.map((n) => n.name).join(', ');
        const phase = `set aside: ${names} back on the release each ran before, out of the load balancer`;
        for (const problem of await revertSwitched(ctx, nodes, facts, { keepOut: true, phase })) {
          ctx.deps.reporter.emit({ type: 'warn', message: `did not come back cleanly: ${problem}` });
          const node = nodes.find((n) => problem.startsWith(`${n.name}:`));
          if (node) ctx.setAside.set(node.name, `${ctx.setAside.get(node.name)}; NOT put back: ${problem}`);
        }
      },
    }),
    async settle(
      facts: ReleaseFacts,
      fields: OutcomeFields | undefined,
      about: (o: { facts: ReleaseFacts; fields?: OutcomeFields }) => void,
    ) {
      const names = [...ctx.setAside.keys()];
      if (names.length === 0) return [];
      const nodes = ctx.inventory.hosts.filter((n) => ctx.setAside.has(n.name));
      await journalSetAside(ctx, nodes, facts.release);
      about({ facts, fields: { ...fields, setAside: names } });
      return names.map((node) => ({ node, reason: ctx.setAside.get(node)! }));
    },
    /** The report's section, when nodes were set aside. */
    report(version: string) {
      if (ctx.setAside.size === 0) return undefined;
      const nodes = [...ctx.setAside].map(([node, reason]) => ({ node, reason }));
      return { nodes, retry: ctx.deps.phrase([retry(version)]) };
    },
    summary(version: string): string {
      const list = [...ctx.setAside].map(([node, why]) => `${node} (${why})`).join('; ');
      return `set aside: ${list}. Once they are back: ${ctx.deps.phrase([retry(version)])}`;
    },
  };
}
