import fs from 'node:fs';
import { RelinkError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { incomingTarball, linkShared, removeReleases, writeReleaseFile } from '../../remote/release.js';
import { checkAborted, execOk, session, state, step, type Artifact, type RunContext } from '../context.js';
import { uploadDeadlineMs } from '../../remote/deadlines.js';
import { releaseDir } from '../../remote/paths.js';
import { rsyncRelease } from '../../transport/rsync.js';
import { journalEvent, record } from '../shared/record.js';
import { templateScope, type ReleaseFacts } from '../../template/scope.js';
import { renderTemplate } from '../../template/render.js';
import {
  keptSettings,
  reportSent,
  stampRsynced,
  uploadFile,
  uploadProgress,
  verifyAndUnpack,
  type NodeWork,
} from './work.js';
import { deltaSender } from './delta.js';
import { RELEASE_SETTINGS_FILE } from '../../remote/release-settings.js';
import { pullRelease } from './pull.js';
import { relayRelease } from './relay.js';
import pLimit from 'p-limit';

/** Renders every template for every node before anything is uploaded, so a bad template changes nothing. */
export function renderAll(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  facts: ReleaseFacts,
  secrets: Readonly<Record<string, string>>,
): Map<string, { dest: string; mode: number; content: string }[]> {
  const sources = ctx.config.templates.map((t) => {
    if (!fs.existsSync(t.src))
      throw new RelinkError(`template not found: ${t.src}`, { hint: 'fix templates[].src in deploy.config.ts' });
    return { ...t, text: fs.readFileSync(t.src, 'utf8') };
  });
  return new Map(
    nodes.map((node) => {
      const scope = templateScope(ctx.config, ctx.inventory, node, facts, secrets);
      return [
        node.name,
        sources.map((t) => ({ dest: t.dest, mode: t.mode, content: renderTemplate(t.text, scope, t.src) })),
      ];
    }),
  );
}

/** Puts the release on a node from this machine: the tarball, or rsync of the build directory (push). */
async function sendNode(ctx: RunContext, node: NodeSpec, artifact: Artifact, facts: ReleaseFacts, staged?: string) {
  checkAborted(ctx);
  if (staged) await rsyncNode(ctx, node, staged, facts, artifact);
  else await uploadTarball(ctx, node, artifact, facts);
}

/** Once a node's release dir is complete, whatever brought it: shared links, templates, the journal line. */
async function finishNode(
  ctx: RunContext,
  node: NodeSpec,
  facts: ReleaseFacts,
  files: readonly { dest: string; mode: number; content: string }[],
  settings: string,
): Promise<void> {
  const l = ctx.layout;
  await step(ctx, 'distribute:shared', node, () =>
    execOk(ctx, node, linkShared(l, facts.release, ctx.config.shared.dirs, ctx.config.shared.files), {
      kind: 'link',
      hint: `create the missing file under ${l.shared} on ${node.name}`,
    }),
  );
  if (files.length) {
    await step(ctx, 'distribute:templates', node, async () => {
      for (const file of files)
        await execOk(ctx, node, writeReleaseFile(l, facts.release, file.dest, file.mode), {
          kind: 'link',
          stdin: file.content,
        });
    });
  }
  // What a rollback to this release restarts, stops and smoke-tests it with (shared/release-settings.ts).
  await step(ctx, 'distribute:settings', node, () =>
    execOk(ctx, node, writeReleaseFile(l, facts.release, RELEASE_SETTINGS_FILE, 0o644), {
      kind: 'link',
      stdin: settings,
    }),
  );
  await record(
    ctx,
    node,
    journalEvent(ctx, node, 'unpacked', { release: facts.release, version: facts.version, commit: facts.commit }),
  );
}

/** rsync mode: unchanged files are hard-linked from the current release; rsync checks every file it sends. */
async function rsyncNode(
  ctx: RunContext,
  node: NodeSpec,
  staged: string,
  facts: ReleaseFacts,
  artifact: Artifact,
): Promise<void> {
  const s = state(ctx, node);
  const linkDest = s.current && s.onDisk.includes(s.current) ? releaseDir(ctx.layout, s.current) : undefined;
  await step(
    ctx,
    'distribute:upload',
    node,
    async () => {
      const dest = releaseDir(ctx.layout, facts.release);
      const result = await rsyncRelease(session(ctx, node), staged, dest, linkDest, {
        timeoutMs: uploadDeadlineMs(ctx.config.ssh, artifact.bytes),
        signal: ctx.deps.signal,
        onProgress: uploadProgress(ctx, node),
      });
      checkAborted(ctx);
      if (result.code !== 0) {
        const dest = releaseDir(ctx.layout, facts.release);
        const tail = result.stderr.trim().split('\n').slice(-2).join(' ');
        throw new RelinkError(`${node.name}: rsync to ${dest} failed (exit ${result.code}): ${tail}`, {
          hint: `check free disk under ${ctx.layout.deployTo} and that rsync is installed on ${node.name}`,
        });
      }
      await stampRsynced(ctx, node, facts.release, artifact.commitTime);
    },
    () => (linkDest ? 'unchanged files hard-linked' : undefined),
  );
}

async function uploadTarball(ctx: RunContext, node: NodeSpec, artifact: Artifact, facts: ReleaseFacts): Promise<void> {
  const l = ctx.layout;
  const tarball = incomingTarball(l, facts.release);
  await step(ctx, 'distribute:upload', node, () => uploadFile(ctx, node, artifact.file, artifact.bytes, tarball));
  checkAborted(ctx);
  await verifyAndUnpack(ctx, node, artifact, facts, tarball, (sum) => {
    const sums = `expected ${artifact.sha256.slice(0, 16)}…, got ${sum?.slice(0, 16)}…`;
    return new RelinkError(`${node.name}: checksum mismatch after upload (${sums})`, {
      hint: 'the upload was corrupted; deploy again',
    });
  });
}

/**
 * Puts the release on every node in parallel without switching anything. If
 * any node fails, the new release dir is removed from every node and the
 * error names the node and the cause; unless `spare` sets the failed nodes
 * aside (a deploy within its failure budget): then it is removed from those
 * only, and the others go on.
 */
export async function distribute(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  artifact: Artifact,
  facts: ReleaseFacts,
  secrets: Readonly<Record<string, string>>,
  spare: (failed: { node: NodeSpec; error: unknown }[]) => boolean = () => false,
): Promise<void> {
  const rendered = renderAll(ctx, nodes, facts, secrets);
  const settings = keptSettings(ctx, facts, secrets);
  const limit = pLimit(ctx.config.rollout.parallel);
  const staged = artifact.format === 'dir' ? artifact.file : undefined;
  // A node gets what it lacks of the release against its current one, computed once per current release.
  const deltas = deltaSender(ctx, nodes, artifact, facts, (node) => sendNode(ctx, node, artifact, facts, staged));
  const work: NodeWork = {
    send: (node) => (deltas ? deltas.send(node) : sendNode(ctx, node, artifact, facts, staged)),
    finish: (node) => finishNode(ctx, node, facts, rendered.get(node.name) ?? [], settings),
    commitTime: artifact.commitTime,
  };
  // The fan-out mode decides how the release gets there (relay.ts, pull.ts); push is this loop.
  const { mode } = ctx.config.rollout.fanout;
  const sentBefore = ctx.deps.transport.sentBytes?.();
  const failures = await (mode === 'relay'
    ? relayRelease(ctx, nodes, facts, work)
    : mode === 'pull'
      ? pullRelease(ctx, nodes, artifact, facts, work)
      : Promise.allSettled(nodes.map((node) => limit(() => work.send(node).then(() => work.finish(node))))).then(
          (all) =>
            all.flatMap((r, i) => (r.status === 'rejected' ? [{ node: nodes[i]!, error: r.reason } as const] : [])),
        )
  ).finally(() => deltas?.cleanup());
  reportSent(ctx, nodes.length, artifact, sentBefore);
  if (failures.length === 0) return;
  if (spare(failures)) {
    const gone = failures.map((f) => f.node).filter((n) => ctx.sessions.has(n.name));
    await removeEverywhere(ctx, gone, facts.release);
    return;
  }
  await removeEverywhere(ctx, nodes, facts.release);
  const first = failures[0]!;
  if (
    first.error instanceof RelinkError &&
    failures.every((f) => f.error === first.error || f.error instanceof RelinkError)
  ) {
    const others =
      failures.length > 1
        ? ` (and ${failures.length - 1} more node${failures.length > 2 ? 's' : ''}: ${failures
            .slice(1)
            .map((f) => f.node.name)
            .join(', ')})`
        : '';
    throw new RelinkError(
      `distribute failed on ${first.node.name}${others}: ${first.error.message}. ` +
        'The new release was removed from every node; nothing was switched.',
      {
        hint: first.error.hint,
        exitCode: first.error.exitCode,
        cause: first.error,
      },
    );
  }
  throw first.error;
}

/** Removes a release dir that never went live from every node (best effort, reported per node). */
export async function removeEverywhere(ctx: RunContext, nodes: readonly NodeSpec[], release: string): Promise<void> {
  await Promise.all(
    nodes.map((node) =>
      step(ctx, 'distribute:cleanup', node, () =>
        execOk(ctx, node, removeReleases(ctx.layout, [release]), { kind: 'cleanup', cleanup: true }),
      ).catch((error: unknown) =>
        ctx.deps.reporter.emit({
          type: 'warn',
          node: node.name,
          message: `could not remove ${release}: ${errorMessage(error)}`,
        }),
      ),
    ),
  );
}
