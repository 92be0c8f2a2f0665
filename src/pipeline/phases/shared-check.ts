// Shared state, checked before a deploy builds or uploads anything: every shared file must exist on every
// node (bad input otherwise, exit 2), and every shared link of the running release must still be a link (a
// refusal otherwise, exit 3: the app wrote its data into the release, and switching would leave it behind),
// unless `--adopt-shared` moves the release's copy into shared/ first.
import { errorMessage, GateError, RelinkError, UsageError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, said } from '../../next.js';
import { inside, releaseDir, type Layout } from '../../remote/paths.js';
import {
  adoptShared,
  asideSuffix,
  parseShared,
  probeShared,
  type Replaced,
  type SharedState,
} from '../../remote/shared.js';
import { execOk, state, step, type RunContext } from '../context.js';
import { readOwnSettings, settingsOf } from '../shared/release-settings.js';

export type { Replaced, SharedState };

/** Whether the config shares anything at all (nothing to check otherwise). */
export function sharesAnything(ctx: RunContext): boolean {
  return ctx.config.shared.dirs.length + ctx.config.shared.files.length > 0;
}

/**
 * Reads the shared state of one node: whether each shared file of the local config exists (the next release
 * links them), and, with `running` (the release `current` points at), whether each shared link of that release
 * is still a link: the links it was deployed with (the `shared` it kept, read before by `readRunningSettings`),
 * the local config's when it kept none or its name is not known. `dir`: where its links are checked (its
 * release dir under the run's lock, or `current` for the read-only commands).
 */
export async function readShared(
  ctx: RunContext,
  node: NodeSpec,
  running?: { readonly release?: string; readonly dir: string },
): Promise<SharedState> {
  const { files } = ctx.config.shared;
  const kept = running?.release ? settingsOf(ctx, node, running.release).shared : ctx.config.shared;
  const entries = running ? [...kept.dirs, ...kept.files] : [];
  const links = running ? { dir: running.dir, entries } : undefined;
  const result = await execOk(ctx, node, probeShared(ctx.layout, files, links), { kind: 'inspect' });
  return parseShared(result.stdout, files, entries);
}

/** Reads the settings the running release of each node kept (its `shared`), saying only why one is unusable. */
export async function readRunningSettings(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  const running = nodes.flatMap((node) => {
    const release = state(ctx, node).current;
    return release ? [{ node, release, standby: true }] : [];
  });
  await readOwnSettings(ctx, running, { quiet: true });
}

/** The shared state of every node, as the run read it (the plan shows it; the deploy acts on it). */
const seen = new WeakMap<RunContext, Map<string, SharedState>>();

export function sharedSeen(ctx: RunContext, node: string): SharedState | undefined {
  return seen.get(ctx)?.get(node);
}

/**
 * Reads every node's shared state, in parallel, checking the release `current` pointed at when the run read it
 * with the `shared` that release kept (a release that kept none: the local config's).
 */
export async function readAllShared(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<Map<string, SharedState>> {
  const found = new Map<string, SharedState>();
  await readRunningSettings(ctx, nodes);
  const running = (node: NodeSpec) => {
    const release = state(ctx, node).current;
    return release ? { release, dir: releaseDir(ctx.layout, release) } : undefined;
  };
  const links = (node: NodeSpec) => {
    const release = running(node)?.release;
    return release ? settingsOf(ctx, node, release).shared : { dirs: [], files: [] };
  };
  const checked = nodes.filter((node) => sharesAnything(ctx) || links(node).dirs.length + links(node).files.length);
  await Promise.all(
    checked.map((node) =>
      step(ctx, 'gates:shared', node, async () => {
        found.set(node.name, await readShared(ctx, node, running(node)));
      }),
    ),
  );
  seen.set(ctx, found);
  return found;
}

/** `db.json is a regular file (1234 bytes, modified 2026-12-07 12:55:00 UTC), not a link to <shared>/db.json`. */
export function describeReplaced(l: Layout, r: Replaced): string {
  const what = r.kind === 'file' ? 'a regular file' : r.kind === 'dir' ? 'a directory' : 'neither a link nor a file';
  const facts = [
    ...(r.bytes !== undefined && r.kind !== 'dir' ? [`${r.bytes} bytes`] : []),
    ...(r.modified ? [`modified ${r.modified.toISOString().replace('T', ' ').slice(0, 19)} UTC`] : []),
  ];
  const about = facts.length ? ` (${facts.join(', ')})` : '';
  return `${r.entry} is ${what}${about}, not a link to ${inside(l.shared, r.entry)}`;
}

/** `db.json is missing: /srv/app/shared/db.json`. */
export function describeMissing(l: Layout, file: string): string {
  return `shared file ${file} is missing: ${inside(l.shared, file)}`;
}

/** Exit 2, one line per node and file, when a shared file is missing (those `adopt` will bring are not). */
export function missingError(
  ctx: RunContext,
  found: ReadonlyMap<string, SharedState>,
  adopt = false,
): UsageError | undefined {
  const lines = [...found].flatMap(([node, s]) =>
    s.missing
      .filter((file) => !(adopt && s.replaced.some((r) => r.entry === file)))
      .map((file) => `  ${node}: ${describeMissing(ctx.layout, file)}`),
  );
  if (lines.length === 0) return undefined;
  const file = inside(ctx.layout.shared, [...found.values()].flatMap((s) => s.missing)[0]!);
  return new UsageError(
    `${lines.length} shared file(s) missing (every entry of shared.files must exist on every node before a ` +
      `deploy):\n${lines.join('\n')}\nNothing was changed on any node.`,
    {
      hint:
        `create each file on its node, as the deploy user, with the content the app expects (an empty one: ` +
        `touch ${file}); or share its directory with shared.dirs instead, which relink creates`,
    },
  );
}

/** Exit 3, one line per node and entry, when a shared link of the running release is no longer a link. */
export function replacedError(
  ctx: RunContext,
  found: ReadonlyMap<string, SharedState>,
  version: string,
  nodes?: readonly string[],
): GateError | undefined {
  const lines = [...found].flatMap(([node, s]) =>
    s.replaced.map((r) => {
      const release = state(ctx, node).current;
      return `  ${node}: ${describeReplaced(ctx.layout, r)}${release ? ` (in ${release})` : ''}`;
    }),
  );
  if (lines.length === 0) return undefined;
  const adopt = nextStep(
    'deploy',
    ctx.config.env,
    { ...(nodes?.length ? { node: nodes } : {}), 'adopt-shared': true },
    [version],
  );
  return new GateError(
    `${lines.length} shared link(s) of the running release are no longer links: the app wrote its data there ` +
      `(an app that writes by temp file + rename replaces the link), and the new release would link the old ` +
      `copy in shared/ instead:\n${lines.join('\n')}\nNothing was changed on any node.`,
    {
      hint: [
        ...said`move the release's copy into shared/ (the copy there kept as <name>.relink-<time>): ${adopt}`,
        RENAME,
      ],
    },
  );
}

/** What the hints add for an app that writes by rename. */
const RENAME = '; an app that writes a file by rename needs its directory in shared.dirs, not the file in shared.files';

/**
 * `--adopt-shared`: on each node, moves the running release's copy of each replaced entry into shared/ (the
 * copy there kept aside) and puts the link back, so the next release finds the data in shared/.
 */
export async function adoptAll(ctx: RunContext, found: ReadonlyMap<string, SharedState>, nodes: readonly NodeSpec[]) {
  const suffix = asideSuffix(ctx.deps.now());
  await Promise.all(
    nodes.map(async (node) => {
      const release = state(ctx, node).current;
      const replaced = found.get(node.name)?.replaced ?? [];
      if (!release || replaced.length === 0) return;
      await step(ctx, 'gates:adopt-shared', node, async () => {
        for (const r of replaced) {
          await execOk(ctx, node, adoptShared(ctx.layout, release, r.entry, suffix), { kind: 'link' }).catch(
            (error: unknown) => {
              throw new RelinkError(
                `${node.name}: could not move ${r.entry} of ${release} into ${ctx.layout.shared} ` +
                  `(${errorMessage(error).split('\n').slice(1).join(' ').trim() || 'no reason given'}); no copy ` +
                  `was overwritten: each is in the release, in shared/ or kept as ${r.entry}${suffix}`,
                { cause: error, hint: 'look at the node, then deploy again with --adopt-shared' },
              );
            },
          );
          const kept = `${inside(ctx.layout.shared, r.entry)}${suffix}`;
          ctx.deps.reporter.emit({
            type: 'info',
            node: node.name,
            message: `moved ${r.entry} of ${release} into shared/ (a copy already there, if any: ${kept})`,
          });
        }
      });
    }),
  );
}

/**
 * A deploy's check, under its lock and before it uploads: a missing shared file is refused (exit 2), a
 * replaced link too (exit 3) unless `adoptShared`, which then moves it into shared/. A refusal lets the locks
 * go first (`abandon`): it changed nothing, and journals nothing.
 */
export async function checkShared(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  req: { readonly version: string; readonly nodes?: readonly string[]; readonly adoptShared?: boolean },
  abandon: () => Promise<void>,
): Promise<void> {
  const found = await readAllShared(ctx, nodes);
  const refusal =
    missingError(ctx, found, req.adoptShared) ??
    (req.adoptShared ? undefined : replacedError(ctx, found, req.version, req.nodes));
  if (refusal) {
    await abandon();
    throw refusal;
  }
  if (req.adoptShared) await adoptAll(ctx, found, nodes);
}

/** The plan's lines for a node's shared check: what it found, and what the deploy will do about it. */
export function sharedSteps(ctx: RunContext, node: string, adopt = false): { step: string; detail: string }[] {
  const s = sharedSeen(ctx, node);
  if (!sharesAnything(ctx) && !s) return [];
  const { files } = ctx.config.shared;
  const checks = `${files.length ? `${files.join(', ')} in shared/; ` : ''}links of the running release intact`;
  if (!s || s.replaced.length === 0) return [{ step: 'gates:shared', detail: s ? `${checks}: ok` : checks }];
  const found = s.replaced.map((r) => describeReplaced(ctx.layout, r)).join('; ');
  if (!adopt) return [{ step: 'gates:shared', detail: `REFUSES (--adopt-shared moves it into shared/): ${found}` }];
  const entries = s.replaced.map((r) => r.entry).join(', ');
  const moves = `moves into shared/ (a copy there kept as <name>.relink-<time>): ${entries}`;
  return [
    { step: 'gates:shared', detail: found },
    { step: 'gates:adopt-shared', detail: moves },
  ];
}
