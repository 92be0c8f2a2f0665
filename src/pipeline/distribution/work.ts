import { releaseSettingsText, SecretInSettings } from '../../config/release-settings.js';
import { RelinkError, UsageError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { releaseDir } from '../../remote/paths.js';
import { checksum, stampWritten, unpackRelease } from '../../remote/release.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { uploadDeadlineMs } from '../../remote/deadlines.js';
import { checkAborted, execOk, limit, session, state, step, type Artifact, type RunContext } from '../context.js';

/** The per-node work of distribute that every fan-out mode shares, handed in by distribute. */
export interface NodeWork {
  /** Puts the release on a node from this machine, as push does (the configured upload). */
  send(node: NodeSpec): Promise<void>;
  /** Once a node's release dir is complete: shared links, templates, the `unpacked` journal line. */
  finish(node: NodeSpec): Promise<void>;
  /** The commit time the release's files carry (the artifact's), for the files an rsync writes. */
  readonly commitTime?: number;
}

/**
 * After an rsync into a node's new release dir (from this machine or from another node): the files it
 * wrote get the commit time (rsync compares content, not times, and carries no times; see rsyncArgs).
 */
export async function stampRsynced(
  ctx: RunContext,
  node: NodeSpec,
  release: string,
  commitTime: number | undefined,
): Promise<void> {
  if (commitTime === undefined) return;
  await execOk(ctx, node, stampWritten(ctx.layout, release, commitTime), {
    kind: 'unpack',
    hint: `check that ${node.name}'s user owns ${releaseDir(ctx.layout, release)}`,
  });
}

export interface NodeFailure {
  readonly node: NodeSpec;
  readonly error: unknown;
}

/** The node's current release, when it is still on disk: unchanged files are hard-linked against it. */
export function linkDestOf(ctx: RunContext, node: NodeSpec): string | undefined {
  const s = state(ctx, node);
  return s.current && s.onDisk.includes(s.current) ? releaseDir(ctx.layout, s.current) : undefined;
}

/** Tells the live view how far a node's upload is, at most every 200 ms (the transfer reports every chunk). */
export function uploadProgress(ctx: RunContext, node: NodeSpec): (bytes: number, percent: number) => void {
  let last = 0;
  return (bytes, percent) => {
    const now = performance.now();
    if (now - last < 200 && percent < 100) return;
    last = now;
    ctx.deps.reporter.emit({ type: 'progress', step: 'distribute:upload', node: node.name, bytes, percent });
  };
}

/** The last lines of a command's stderr, redacted, for a message. */
export function stderrTail(ctx: RunContext, stderr: string, lines = 2): string {
  return ctx.deps.redactor.apply(stderr.trim().split('\n').slice(-lines).join(' '));
}

/** A node whose sender failed: it never got the release. */
export function notReached(node: NodeSpec, sender: NodeSpec): RelinkError {
  return new RelinkError(`${node.name}: not reached: ${sender.name}, which was to pass the release on, failed`, {
    hint: `see the error of ${sender.name}`,
  });
}

/** How many bytes distribute sent from this machine, beside the artifact's size (the measure of a fan-out mode). */
export function reportSent(ctx: RunContext, count: number, artifact: Artifact, before: number | undefined): void {
  const after = ctx.deps.transport.sentBytes?.();
  if (before === undefined || after === undefined) return;
  const mb = (bytes: number) => (bytes < 1e6 ? `${Math.round(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
  const { fanout } = ctx.config.rollout;
  const how = fanout.mode === 'relay' ? `relay, seeds ${fanout.seeds}, width ${fanout.width}` : fanout.mode;
  const published =
    fanout.mode === 'pull' && fanout.publish ? `; the publish command took the ${mb(artifact.bytes)} artifact` : '';
  ctx.deps.reporter.emit({
    type: 'info',
    message: `distribute (${how}): sent ${mb(after - before)} from this machine to ${count} node(s)${published}`,
  });
}

/**
 * A tarball on a node (uploaded or fetched): its sha256 checked against the
 * build's, then unpacked into the release dir. `mismatch` words the error.
 */
export async function verifyAndUnpack(
  ctx: RunContext,
  node: NodeSpec,
  artifact: Artifact,
  facts: ReleaseFacts,
  tarball: string,
  mismatch: (sum: string | undefined) => RelinkError,
): Promise<void> {
  await step(ctx, 'distribute:verify', node, async () => {
    const sum = (await execOk(ctx, node, checksum(tarball), { kind: 'unpack' })).stdout.trim().split(/\s+/)[0];
    if (sum !== artifact.sha256) throw mismatch(sum);
  });
  await step(ctx, 'distribute:unpack', node, () =>
    execOk(ctx, node, unpackRelease(ctx.layout, facts.release, tarball), {
      kind: 'unpack',
      hint: `check free disk under ${ctx.layout.deployTo} on ${node.name}`,
    }),
  );
}

/**
 * The settings file the release carries (config/release-settings.ts), made before anything is uploaded: a
 * setting that holds a secret's value is refused then (bad input), naming the setting and the secret.
 */
export function keptSettings(ctx: RunContext, facts: ReleaseFacts, secrets: Readonly<Record<string, string>>): string {
  try {
    return releaseSettingsText(ctx.config, facts.release, secrets);
  } catch (error) {
    if (!(error instanceof SecretInSettings)) throw error;
    throw new UsageError(`${error.message}: a release keeps its settings on the nodes, never a secret`, {
      hint: `put the secret in a template (templates[] in deploy.config.ts) and read it on the node from there`,
    });
  }
}

/** Uploads one file to a node over the run's connection, its progress in the live view, its deadline by its size. */
/** What all the uploads under way may hold of their files at once, read and not yet sent. */
const UPLOAD_BUDGET_BYTES = 16 * 1024 * 1024;

/**
 * The read size of each upload: 1 MiB reads cost the least CPU (ssh-session.ts), but `rollout.parallel` uploads
 * at once share UPLOAD_BUDGET_BYTES (100 nodes: 160 KiB each), so that the memory of a run does not grow with
 * the fleet. Never under 64 KiB (two SSH packets).
 */
export function readBytes(ctx: RunContext): number {
  const atOnce = Math.max(1, Math.min(ctx.config.rollout.parallel, ctx.inventory.hosts.length));
  return Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(UPLOAD_BUDGET_BYTES / atOnce / 4096) * 4096));
}

export async function uploadFile(ctx: RunContext, node: NodeSpec, file: string, bytes: number, dest: string) {
  try {
    const report = uploadProgress(ctx, node);
    await session(ctx, node).upload(file, dest, {
      ...limit(ctx, { ms: uploadDeadlineMs(ctx.config.ssh, bytes) }),
      readBytes: readBytes(ctx),
      onProgress: (sent, total) => report(sent, total ? Math.floor((sent * 100) / total) : 100),
    });
  } catch (error) {
    checkAborted(ctx);
    throw new RelinkError(`${node.name}: upload to ${dest} failed: ${errorMessage(error)}`, {
      hint: `check free disk and permissions under ${ctx.layout.state} on ${node.name}`,
    });
  }
}
