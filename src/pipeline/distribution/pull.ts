import { RelinkError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { fetchArtifact } from '../../remote/pull.js';
import { incomingTarball } from '../../remote/release.js';
import { quote } from '../../remote/tokens.js';
import { renderTemplate } from '../../template/render.js';
import { commandEnv, templateScope, type ReleaseFacts } from '../../template/scope.js';
import { runLocal } from '../../transport/local.js';
import { checkAborted, limit, session, step, type Artifact, type RunContext } from '../context.js';
import { stderrTail, verifyAndUnpack, type NodeFailure, type NodeWork } from './work.js';
import pLimit from 'p-limit';

/** The URL one node fetches the release from: `rollout.fanout.url` with the node's template variables. */
export function artifactUrl(ctx: RunContext, node: NodeSpec, facts: ReleaseFacts, sha256: string): string {
  const scope = { ...templateScope(ctx.config, ctx.inventory, node, facts), sha256 };
  const url = renderTemplate(ctx.config.rollout.fanout.url!, scope, 'rollout.fanout.url');
  if (!/^https?:\/\/\S+$/.test(url))
    throw new RelinkError(`rollout.fanout.url for ${node.name} is not an http(s) URL: ${url.slice(0, 200)}`, {
      hint: 'fix rollout.fanout.url in deploy.config.ts (its variables must not bring spaces or line breaks)',
    });
  return url;
}

/** The publish command with its variables filled in, each shell-quoted. */
export function publishCommand(ctx: RunContext, artifact: Artifact, facts: ReleaseFacts): string {
  const scope = {
    file: quote(artifact.file),
    release: quote(facts.release),
    sha256: quote(artifact.sha256),
    version: quote(facts.version),
  };
  return renderTemplate(ctx.config.rollout.fanout.publish!, scope, 'rollout.fanout.publish');
}

/** RELINK_* of the publish command: the run's, without a node, and the tarball's path and sha256. */
function publishEnv(ctx: RunContext, any: NodeSpec, artifact: Artifact, facts: ReleaseFacts): Record<string, string> {
  const { RELINK_NODE: _node, ...run } = commandEnv(ctx.config, any, facts);
  return { ...run, RELINK_FILE: artifact.file, RELINK_SHA256: artifact.sha256 };
}

/** Runs the publish command on this machine, in the project directory, before any node fetches. */
async function publish(ctx: RunContext, nodes: readonly NodeSpec[], artifact: Artifact, facts: ReleaseFacts) {
  const { fanout } = ctx.config.rollout;
  await step(ctx, 'distribute:publish', undefined, async () => {
    const result = await runLocal('sh', ['-c', publishCommand(ctx, artifact, facts)], {
      cwd: ctx.config.root,
      env: { ...process.env, ...publishEnv(ctx, nodes[0]!, artifact, facts) },
      timeoutMs: fanout.timeoutMs,
      signal: ctx.deps.signal,
    });
    if (result.code !== 0) {
      throw new RelinkError(`publish failed (exit ${result.code}): ${stderrTail(ctx, result.stderr, 3)}`, {
        hint: 'fix rollout.fanout.publish in deploy.config.ts; no node fetched anything',
      });
    }
  });
}

/** On one node: fetch the tarball, check its sha256, unpack it (the verify and unpack of push). */
async function fetchNode(ctx: RunContext, node: NodeSpec, artifact: Artifact, facts: ReleaseFacts): Promise<void> {
  const l = ctx.layout;
  const tarball = incomingTarball(l, facts.release);
  const url = artifactUrl(ctx, node, facts, artifact.sha256);
  const check = `from ${node.name}: curl -fsSI ${quote(url)}`;
  await step(
    ctx,
    'distribute:fetch',
    node,
    async () => {
      const { timeoutMs } = ctx.config.rollout.fanout;
      const fetch = fetchArtifact(url, tarball, timeoutMs);
      const result = await session(ctx, node).exec(fetch, limit(ctx, { ms: timeoutMs + 10_000 }));
      checkAborted(ctx);
      if (result.code !== 0) {
        throw new RelinkError(
          `${node.name}: fetching ${url} failed (exit ${result.code}): ${stderrTail(ctx, result.stderr)}`,
          {
            hint:
              result.code === 127
                ? `install curl or wget on ${node.name}`
                : `check that the artifact store serves it to the node (${check}); publish it with ` +
                  'rollout.fanout.publish or fix rollout.fanout.url',
          },
        );
      }
    },
    () => url,
  );
  checkAborted(ctx);
  await verifyAndUnpack(ctx, node, artifact, facts, tarball, (sum) => {
    const sums = `${sum?.slice(0, 16)}…, not the build's ${artifact.sha256.slice(0, 16)}…`;
    return new RelinkError(`${node.name}: the tarball fetched from ${url} has sha256 ${sums}`, {
      hint: 'the artifact store serves another file under that name: publish this build again and deploy again',
    });
  });
}

/**
 * pull: the tarball is published once (or already served at the URL), and
 * every node fetches it itself, checks its sha256 and unpacks it; this
 * machine sends only commands. Returns the nodes that did not get the release.
 */
export async function pullRelease(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  artifact: Artifact,
  facts: ReleaseFacts,
  work: NodeWork,
): Promise<NodeFailure[]> {
  if (artifact.format === 'dir') throw new Error('pull needs the release as a tarball');
  // Every URL is rendered before anything is published: a bad variable changes nothing.
  for (const node of nodes) artifactUrl(ctx, node, facts, artifact.sha256);
  if (ctx.config.rollout.fanout.publish) await publish(ctx, nodes, artifact, facts);
  checkAborted(ctx);
  const limit = pLimit(ctx.config.rollout.parallel);
  const results = await Promise.allSettled(
    nodes.map((node) =>
      limit(async () => {
        checkAborted(ctx);
        await fetchNode(ctx, node, artifact, facts);
        await work.finish(node);
      }),
    ),
  );
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: nodes[i]!, error: r.reason as unknown }] : []));
}
