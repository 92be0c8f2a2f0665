import fs from 'node:fs';
import { RelinkError, errorMessage } from '../../errors.js';
import { inRelay, relayTree, type RelayTree } from '../../inventory/relay-tree.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, said } from '../../next.js';
import { releaseDir } from '../../remote/paths.js';
import { armSender, keyBlob, relayKeyLine, relaySend, revokeRelay, trustRelayKey } from '../../remote/relay.js';
import { and, type Command } from '../../remote/tokens.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { hostLabel, linesForHost, parseKnownHosts } from '../../transport/known-hosts.js';
import { makeRunKey, type RunKey } from '../../transport/keygen.js';
import { checkAborted, execOk, limit, session, step, type RunContext } from '../context.js';
import { linkDestOf, notReached, stampRsynced, type NodeFailure, type NodeWork } from './work.js';
import pLimit from 'p-limit';
import { copyError } from './relay-error.js';

/** The relay tree of a run's nodes, in the order distribute gets them (the inventory's). */
export function treeOf(ctx: RunContext, nodes: readonly NodeSpec[]): RelayTree {
  const { seeds, width } = ctx.config.rollout.fanout;
  return relayTree(
    nodes.map((n) => n.name),
    seeds,
    width,
  );
}

/**
 * The host key lines each receiver is checked against by its sender: the
 * entries this machine's known_hosts has for it. A receiver it does not know
 * stops the relay before anything changed, as an unknown node stops push.
 */
function receiverHostKeys(ctx: RunContext, receivers: readonly NodeSpec[]): Map<string, string[]> {
  const file = ctx.config.ssh.knownHostsFile;
  const entries = fs.existsSync(file) ? parseKnownHosts(fs.readFileSync(file, 'utf8')) : [];
  return new Map(
    receivers.map((node) => {
      const lines = linesForHost(entries, node.address, node.port);
      if (!lines.some((line) => !line.startsWith('@revoked'))) {
        throw new RelinkError(
          `relay: no host key for ${node.name} (${hostLabel(node.address, node.port)}) in ${file}`,
          {
            hint: [
              "the sending nodes check every receiver's host key against this machine's: ",
              ...said`add ${node.name}'s (${nextStep('doctor')} names the command)`,
            ],
          },
        );
      }
      return [node.name, lines];
    }),
  );
}

/**
 * relay: this machine puts the release on the seeds (as push does), and
 * every node that has it copies it on to its children in the tree, all of a
 * node's children at once, over SSH between the nodes with the run's key
 * (see remote/relay.ts). When the last copy is done, the run's key is
 * removed from every node it went to, on success and on failure alike; only
 * then are shared links and templates added, so what every node sent is the
 * build as it came. Returns the nodes that did not get the release.
 */
export async function relayRelease(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  facts: ReleaseFacts,
  work: NodeWork,
): Promise<NodeFailure[]> {
  const tree = treeOf(ctx, nodes);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const relayed = nodes.filter((n) => inRelay(tree, n.name));
  const failures = new Map<string, unknown>();
  const fail = (node: NodeSpec) => (error: unknown) => {
    if (!failures.has(node.name)) failures.set(node.name, error);
  };
  const keys = relayed.length ? await grant(ctx, tree, relayed, facts) : undefined;
  const limit = pLimit(ctx.config.rollout.parallel);
  const reach = async (node: NodeSpec, receive: () => Promise<void>): Promise<void> => {
    await receive().catch(fail(node));
    const kids = (tree.children.get(node.name) ?? []).map((name) => byName.get(name)!);
    await Promise.all(
      kids.map((kid) =>
        reach(kid, async () => {
          if (failures.has(node.name)) throw notReached(kid, node);
          if (failures.has(kid.name)) return;
          checkAborted(ctx);
          await copy(ctx, node, kid, facts.release, work.commitTime);
        }),
      ),
    );
  };
  try {
    if (keys) {
      await Promise.all(relayed.map((node) => limit(() => keys.authorize(node)).catch(fail(node))));
    }
    await Promise.all(
      tree.seeds.map((name) => {
        const seed = byName.get(name)!;
        return reach(seed, () => (failures.has(name) ? Promise.resolve() : limit(() => work.send(seed))));
      }),
    );
  } finally {
    // All at once when the last copy is done: nodes that share a home directory share one authorized_keys,
    // where each removal takes out every line of the run's key, so no node may remove them while another
    // still receives. Every removal there then writes the same file.
    if (keys) await Promise.all(relayed.map((node) => keys.revoke(node)));
  }
  const ready = nodes.filter((node) => !failures.has(node.name));
  await Promise.all(ready.map((node) => limit(() => work.finish(node)).catch(fail(node))));
  return nodes.flatMap((node) => (failures.has(node.name) ? [{ node, error: failures.get(node.name) }] : []));
}

/** One node-to-node copy, run on the sender, reported as the receiver's `distribute:relay` step. */
async function copy(ctx: RunContext, from: NodeSpec, to: NodeSpec, release: string, time?: number): Promise<void> {
  const dir = releaseDir(ctx.layout, release);
  const linkDest = linkDestOf(ctx, to);
  const command = relaySend(ctx.layout, ctx.runId, {
    ...{ source: dir, dest: dir, linkDest, user: to.user, address: to.address, port: to.port },
    timeoutSeconds: ctx.config.rollout.fanout.timeoutMs / 1000,
    connectTimeoutSeconds: ctx.config.ssh.connectTimeoutMs / 1000,
  });
  await step(
    ctx,
    'distribute:relay',
    to,
    async () => {
      const result = await session(ctx, from).exec(
        command,
        limit(ctx, { ms: ctx.config.rollout.fanout.timeoutMs + 10_000 }),
      );
      checkAborted(ctx);
      if (result.code !== 0) throw copyError(ctx, from, to, result);
      await stampRsynced(ctx, to, release, time);
    },
    () => `from ${from.name}${linkDest ? ', unchanged files hard-linked' : ''}`,
  );
}

interface Keys {
  /** Puts the run's key where a node needs it: its public half on a receiver, its private half on a sender. */
  authorize(node: NodeSpec): Promise<void>;
  /** Removes both from a node, once; a node it cannot reach is named in a warning (the key expires anyway). */
  revoke(node: NodeSpec): Promise<void>;
}

/** How long an interrupted key addition is given to finish on its node before the removal is made again. */
const ABANDONED_SETTLE_MS = 1500;

/** Makes the run's key (before anything changes on a node) and says how it is given out and taken back. */

async function grant(ctx: RunContext, tree: RelayTree, relayed: readonly NodeSpec[], facts: ReleaseFacts) {
  const l = ctx.layout;
  const { fanout } = ctx.config.rollout;
  const byName = new Map(relayed.map((n) => [n.name, n]));
  const hostKeys = receiverHostKeys(
    ctx,
    relayed.filter((n) => tree.parent.has(n.name)),
  );
  const key: RunKey = await step(ctx, 'distribute:relay-key', undefined, () => makeRunKey(`relink-relay-${ctx.runId}`));
  ctx.deps.redactor.add(key.privateKey);
  const blob = keyBlob(key.publicKey);
  // Past this the key is refused even where its line could not be removed: every level may take the limit.
  const expires = new Date(ctx.deps.now().getTime() + fanout.timeoutMs * (tree.depth + 2));
  const revoked = new Set<string>();
  // Nodes whose key was being added when the run was interrupted: the command may still finish on the node
  // after the run stopped waiting for it, so their removal is made again a moment later.
  const abandoned = new Set<string>();
  const removeOn = (node: NodeSpec) =>
    step(ctx, 'distribute:relay-end', node, () =>
      execOk(ctx, node, revokeRelay(l, ctx.runId, blob, node.name), { kind: 'cleanup', cleanup: true }),
    );
  const keys: Keys = {
    async authorize(node) {
      const parent = tree.parent.get(node.name);
      const kids = tree.children.get(node.name) ?? [];
      const parts: Command[] = [];
      if (parent) {
        const line = relayKeyLine(key.publicKey, {
          runId: ctx.runId,
          from: fanout.from ?? [byName.get(parent)!.address],
          expires,
          dest: releaseDir(l, facts.release),
          linkDest: linkDestOf(ctx, node),
        });
        parts.push(trustRelayKey(line));
      }
      if (kids.length)
        parts.push(
          armSender(
            l,
            ctx.runId,
            kids.flatMap((kid) => hostKeys.get(kid)!),
          ),
        );
      await step(
        ctx,
        'distribute:relay-auth',
        node,
        () =>
          execOk(ctx, node, and(...parts), {
            kind: 'link',
            stdin: kids.length ? key.privateKey : undefined,
            hint: `check that ${node.name}'s user can write ~/.ssh/authorized_keys and ${l.state}`,
          }),
        () => authDetail(Boolean(parent), kids),
      ).catch((error: unknown) => {
        if (ctx.deps.signal?.aborted) abandoned.add(node.name);
        throw error;
      });
    },
    async revoke(node) {
      if (revoked.has(node.name)) return;
      revoked.add(node.name);
      await removeOn(node)
        .then(async () => {
          if (!abandoned.has(node.name)) return;
          await ctx.deps.sleep(ABANDONED_SETTLE_MS);
          await removeOn(node);
        })
        .catch((error: unknown) =>
          ctx.deps.reporter.emit({
            type: 'warn',
            node: node.name,
            message:
              `could not remove the run's relay key: ${errorMessage(error).split('\n')[0]}; sshd refuses it after ` +
              `${expires.toISOString()} (expiry-time); remove the line with relink-relay-${ctx.runId} from ` +
              '~/.ssh/authorized_keys',
          }),
        );
    },
  };
  return keys;
}

/** What a node's relay-auth step gave it, for the plan and the run. */
export function authDetail(receives: boolean, sendsTo: readonly string[]): string {
  return [
    ...(receives ? ["the run's key in authorized_keys (rsync into the new release only, from its sender)"] : []),
    ...(sendsTo.length ? [`the run's private key and the host keys of ${sendsTo.join(', ')}`] : []),
  ].join('; ');
}
