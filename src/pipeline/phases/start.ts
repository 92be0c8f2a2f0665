import { InterruptedError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { buildNode, nodeBuildHost } from './build-on.js';
import type { RunContext, VersionInfo } from '../context.js';
import { checkLb, openLb } from '../rollout/drain.js';
import { refuseUnweighted } from '../rollout/weights.js';
import { connectAll, inspectAll } from './preflight.js';
import type { Source } from '../shared/source.js';

/**
 * The build, started early, after `before` (the beforeBuild hooks); `cancel` stops it (and everything it
 * started) when the run ends before needing it. A build on a node (build.on) waits for `connected`: the run
 * calls it once its connections are open.
 */
export function startBuild(ctx: RunContext, source: Source, version: VersionInfo, before: () => Promise<void>) {
  const stop = new AbortController();
  const onAbort = () => stop.abort(ctx.deps.signal?.reason);
  ctx.deps.signal?.addEventListener('abort', onAbort, { once: true });
  const node = buildNode(ctx);
  let connected: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    connected = resolve;
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const build = async () => {
    await before();
    if (!node) return source.build(version, stop.signal);
    await ready;
    if (stop.signal.aborted) throw new InterruptedError(String(stop.signal.reason ?? 'signal'));
    return source.build(version, stop.signal, nodeBuildHost(ctx, node, version.commit));
  };
  const done = build().finally(() => ctx.deps.signal?.removeEventListener('abort', onAbort));
  done.catch(() => undefined);
  return {
    done,
    connected,
    async cancel() {
      stop.abort('the run ended before its build was needed');
      await done.catch(() => undefined);
    },
  };
}

/**
 * Connects to every node and reads the load balancer; `deploy plan` also reads
 * the nodes (a deploy reads them, and checks deployTo is writable, in the
 * round trip of its lock). Changes nothing.
 */
export async function look(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  mode: 'plan' | 'deploy',
  spare?: Parameters<typeof connectAll>[2],
): Promise<void> {
  refuseUnweighted(ctx);
  await connectAll(ctx, nodes, spare);
  await openLb(ctx);
  if (mode === 'plan') await inspectAll(ctx, nodes);
  await checkLb(ctx, nodes);
}
