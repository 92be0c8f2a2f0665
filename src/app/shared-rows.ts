// Shared state in the read-only commands: `deploy doctor` (a row per problem) and `deploy status` (a warning
// per node), read through `current` (the release it points at) in one round trip per node.
import type { NodeSpec } from '../inventory/types.js';
import type { RunContext } from '../pipeline/context.js';
import { describeMissing, describeReplaced, readShared } from '../pipeline/phases/shared-check.js';
import { settingsOf } from '../pipeline/shared/release-settings.js';

/** The doctor's check name of a missing shared file (it makes doctor exit 2, as the deploy would). */
export const SHARED_FILE = 'shared file';
/** The doctor's check name of a shared link of the running release that became a file or dir. */
export const SHARED_LINK = 'shared link';

type Row = [check: string, ok: boolean, detail: string];

/** The doctor's rows of a node: one per problem, or one `shared` row saying all is in place. */
export async function sharedRows(ctx: RunContext, node: NodeSpec): Promise<Row[]> {
  const s = await readShared(ctx, node, { dir: ctx.layout.current });
  const rows: Row[] = [
    ...s.missing.map((file): Row => [SHARED_FILE, false, `${describeMissing(ctx.layout, file)} (create it first)`]),
    ...s.replaced.map(
      (r): Row => [
        SHARED_LINK,
        false,
        `${describeReplaced(ctx.layout, r)}: the next deploy refuses until --adopt-shared moves it into shared/`,
      ],
    ),
  ];
  if (rows.length) return rows;
  const { dirs, files } = ctx.config.shared;
  return [['shared', true, `${[...dirs, ...files].join(', ')}: in shared/, linked from the running release`]];
}

/**
 * What `deploy status` warns of a node: each shared link of its running release (`release`, whose settings the
 * status read) that is no longer a link, among the links that release was deployed with.
 */
export async function sharedWarnings(ctx: RunContext, node: NodeSpec, release: string): Promise<string[]> {
  const { dirs, files } = settingsOf(ctx, node, release).shared;
  if (dirs.length + files.length === 0) return [];
  const s = await readShared(ctx, node, { release, dir: ctx.layout.current });
  return s.replaced.map((r) => describeReplaced(ctx.layout, r));
}
