// `deploy impact <id>` and `--open`: every environment and node whose current release contains a known
// bug without its fix, read from the nodes of every environment (one pass for any number of records).
// The check after a hotfix reads the same: the nodes that still run a bug a release just cured.
import { knownEnvironments } from '../inventory/load.js';
import { releaseRecords } from '../journal/releases.js';
import { state } from '../pipeline/context.js';
import { withObserved } from './observed.js';
import { openAt, type PoisonRecord } from './poison.js';
import type { GitRecords } from './repo.js';
import type { ImpactJson, OpenImpactJson } from './shapes.js';

type Hit = ImpactJson['affected'][number];
type Down = ImpactJson['unreachable'][number];

export interface Impact {
  /** Per record id, the nodes whose current release has it without its fix. */
  readonly affected: ReadonlyMap<string, Hit[]>;
  readonly unreachable: Down[];
}

/** Reads every environment's nodes once and checks each current release against every record. */
export async function impactOfAll(
  git: GitRecords,
  records: readonly PoisonRecord[],
  root: string,
  config: string | undefined,
): Promise<Impact> {
  const verdicts = new Map<string, string[]>();
  const affected = new Map<string, Hit[]>(records.map((r) => [r.id, []]));
  const unreachable: Down[] = [];
  if (records.length === 0) return { affected, unreachable };
  for (const env of knownEnvironments(root)) {
    await withObserved({ env, config, command: 'impact' }, async ({ seen }) => {
      for (const node of seen.nodes) {
        if (seen.unreachable.has(node.name)) {
          unreachable.push({ env, node: node.name });
          continue;
        }
        const s = state(seen.ctx, node);
        const current = s.current ? releaseRecords(s.events).get(s.current) : undefined;
        if (!current?.commit) continue;
        for (const id of await openAt(git, current.commit, records, verdicts)) {
          const { version, commit } = current;
          affected.get(id)?.push({ env, node: node.name, release: s.current!, version, commit });
        }
      }
    });
  }
  return { affected, unreachable };
}

export async function impactOf(
  git: GitRecords,
  record: PoisonRecord,
  root: string,
  config: string | undefined,
): Promise<ImpactJson> {
  const { affected, unreachable } = await impactOfAll(git, [record], root, config);
  return { id: record.id, poison: record.commit, affected: affected.get(record.id)!, unreachable };
}

/**
 * `deploy impact --open`: every known bug still open, that is without a recorded fix, or with one but
 * still running somewhere without it (the check after a hotfix, for every bug at once).
 */
export async function openImpact(
  git: GitRecords,
  records: readonly PoisonRecord[],
  root: string,
  config: string | undefined,
): Promise<OpenImpactJson> {
  const { affected, unreachable } = await impactOfAll(git, records, root, config);
  const bugs = records
    .map((r) => ({
      id: r.id,
      poison: r.commit,
      comment: r.comment,
      ...(r.ticket ? { ticket: r.ticket } : {}),
      cures: r.cures.map((c) => c.commit),
      affected: affected.get(r.id)!,
    }))
    .filter((b) => b.cures.length === 0 || b.affected.length > 0);
  return { bugs, unreachable };
}
