import path from 'node:path';
import { RelinkError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { groupCount } from '../../inventory/groups.js';
import { CommandDriver, NoLb } from '../../lb/command-hooks.js';
import { HaproxyDriver } from '../../lb/haproxy.js';
import { NginxDriver } from '../../lb/nginx.js';
import type { LbDriver, LbRunner } from '../../lb/types.js';
import { render } from '../../remote/tokens.js';
import { runLocal } from '../../transport/local.js';
import type { NodeSession } from '../../transport/types.js';
import { state, step, type RunContext } from '../context.js';
import { commandEnv, templateScope } from '../../template/scope.js';
import { renderTemplate } from '../../template/render.js';

/** The LB host of the inventory as a node, when LB commands run over SSH. */
export function lbHost(ctx: RunContext): NodeSpec | undefined {
  const host = ctx.inventory.lb?.host;
  return host ? { name: 'lb', address: host.address, port: host.port, user: host.user, roles: [], vars: {} } : undefined;
}

/** Builds the driver the inventory asks for; its commands run here or on the LB host. */
export function createLb(ctx: RunContext, lbSession?: NodeSession): LbDriver {
  const spec = ctx.inventory.lb;
  if (!spec || spec.driver === 'none') return new NoLb();
  const run: LbRunner = lbSession
    ? (command, stdin) => lbSession.exec(command, { stdin, timeoutMs: 15_000 })
    : (command, stdin) => runLocal('sh', ['-c', render(command)], { input: stdin, timeoutMs: 15_000 });
  const sleep = ctx.deps.sleep;
  const local = (p: string) => (lbSession || path.isAbsolute(p) ? p : path.resolve(ctx.config.root, path.dirname(ctx.inventory.file), p));
  if (spec.driver === 'haproxy') {
    const socket = /^[\w.-]+:\d+$/.test(spec.socket) ? spec.socket : local(spec.socket);
    return new HaproxyDriver(run, { socket, backend: spec.backend, serverOf: (n) => String(n.vars.lbServer ?? n.name), sleep });
  }
  if (spec.driver === 'nginx') {
    const serverOf = (n: NodeSpec) => String(n.vars.lbServer ?? renderTemplate(spec.server, templateScope(ctx.config, ctx.inventory, n, { release: '', version: '', commit: '', branch: '' }), 'lb.server'));
    return new NginxDriver(run, { upstreamFile: local(spec.upstreamFile), prefix: spec.prefix && local(spec.prefix), config: spec.config && local(spec.config), pidFile: local(spec.pidFile), serverOf, sleep });
  }
  return new CommandDriver(run, {
    drain: spec.drain,
    undrain: spec.undrain,
    check: spec.check,
    env: (n) => commandEnv(ctx.config, n, { release: '', version: '', commit: '', branch: '' }),
    sleep,
  });
}

/** Nodes behind the load balancer (all but `lb.exclude`). */
export function behindLb(ctx: RunContext, nodes: readonly NodeSpec[]): NodeSpec[] {
  const exclude = ctx.inventory.lb?.exclude ?? [];
  return nodes.filter((n) => !exclude.includes(n.name));
}

/**
 * Before the first drain: the load balancer answers and knows every node.
 * Remembers each node's state, to put drained nodes back as they were.
 */
export async function checkLb(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  if (ctx.lb.kind === 'none') return;
  await step(ctx, 'plan:lb', undefined, async () => {
    try {
      const states = await ctx.lb.states(behindLb(ctx, nodes));
      for (const [name, s] of states) state(ctx, name).lb = s;
    } catch (error) {
      throw new RelinkError(`${errorMessage(error)}. Nothing was changed on any node.`, { hint: (error as RelinkError).hint });
    }
  });
}

/**
 * Drains a group together and waits until nothing is in flight on its nodes.
 * Refuses when that would leave fewer than `minServing` nodes serving.
 */
export async function drainGroup(ctx: RunContext, phase: string, group: readonly NodeSpec[]): Promise<void> {
  const spec = ctx.inventory.lb;
  const members = behindLb(ctx, group).filter((n) => !ctx.drained.has(n.name));
  if (!spec || ctx.lb.kind === 'none' || members.length === 0) return;
  const all = behindLb(ctx, ctx.inventory.hosts);
  const states = await ctx.lb.states(all);
  const servingNow = all.filter((n) => states.get(n.name)?.admin === 'ready' && states.get(n.name)?.up);
  const serving = servingNow.filter((n) => !members.includes(n));
  const min = typeof spec.minServing === 'number' ? spec.minServing : groupCount(spec.minServing, all.length);
  // Draining nodes that serve nothing now (a cold start, a node already down) shrinks nothing.
  if (serving.length < min && serving.length < servingNow.length) {
    throw new RelinkError(`draining ${members.map((n) => n.name).join(', ')} would leave ${serving.length} of ${all.length} node(s) serving, below minServing ${spec.minServing}`, {
      hint: 'bring the other nodes back into the pool, use a smaller groupSize, or lower lb.minServing',
    });
  }
  await Promise.all(
    members.map(async (node) => {
      await step(ctx, `${phase}:drain`, node, () => ctx.lb.drain(node));
      ctx.drained.add(node.name);
      const drained = await step(ctx, `${phase}:drained`, node, () => ctx.lb.waitDrained(node, spec.drainTimeoutMs));
      if (!drained) ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `requests still in flight after drainTimeout ${spec.drainTimeoutMs} ms; going on` });
    }),
  );
}

/** Puts a drained node back as it was before the run and waits until the LB reports it serving. */
export async function undrainNode(ctx: RunContext, phase: string, node: NodeSpec): Promise<void> {
  const spec = ctx.inventory.lb;
  if (!spec || ctx.lb.kind === 'none' || !ctx.drained.has(node.name)) return;
  const before = state(ctx, node).lb?.admin ?? 'ready';
  await step(ctx, `${phase}:undrain`, node, () => ctx.lb.undrain(node, before === 'drain' ? 'ready' : before));
  ctx.drained.delete(node.name);
  if (before === 'ready' || before === 'drain') await step(ctx, `${phase}:serving`, node, () => ctx.lb.waitServing(node, spec.serveTimeoutMs));
}

export const LB_SESSION = '(lb)';

/** Connects to the LB host if there is one and sets up the run's driver (a test may inject its own). */
export async function openLb(ctx: RunContext): Promise<void> {
  if (ctx.deps.lb) {
    ctx.lb = ctx.deps.lb;
    return;
  }
  const host = lbHost(ctx);
  let session: NodeSession | undefined;
  if (host && ctx.inventory.lb?.driver !== 'none') {
    session = await step(ctx, 'plan:connect', host, () => ctx.deps.transport.connect(host));
    ctx.sessions.set(LB_SESSION, session);
  }
  ctx.lb = createLb(ctx, session);
}

/** Undoes what the run changed in the load balancer's own files (nginx upstream); a failure is a warning. Before the lock goes. */
export async function restoreLb(ctx: RunContext): Promise<void> {
  await ctx.lb.restore().catch((error: unknown) => ctx.deps.reporter.emit({ type: 'warn', message: `could not restore the load balancer: ${errorMessage(error)}` }));
}

/** Puts back every node this run drained and did not switch (after a failure), as it was before. */
export async function undrainLeftovers(ctx: RunContext, phase: string): Promise<string[]> {
  const problems: string[] = [];
  for (const name of [...ctx.drained]) {
    const node = ctx.inventory.hosts.find((n) => n.name === name)!;
    await undrainNode(ctx, phase, node).catch((error: unknown) => {
      const where = ctx.drained.has(name) ? 'still drained' : 'back in the load balancer but not serving';
      problems.push(`${name}: ${where}: ${errorMessage(error).split('\n')[0]}`);
    });
  }
  return problems;
}
