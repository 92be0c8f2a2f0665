// `deploy impact <id>`: every environment and node whose current release contains a known bug
// without its fix, read from the nodes of every environment.
import { knownEnvironments } from '../inventory/load.js';
import { releaseRecords } from '../journal/releases.js';
import { state } from '../pipeline/context.js';
import { withObserved } from './observed.js';
import { openAt, type PoisonRecord } from './poison.js';
import type { GitRecords } from './repo.js';
import type { ImpactJson } from './views.js';

type Hit = ImpactJson['affected'][number];
type Down = ImpactJson['unreachable'][number];

export async function impactOf(
  git: GitRecords,
  record: PoisonRecord,
  root: string,
  config: string | undefined,
): Promise<ImpactJson> {
  const verdicts = new Map<string, string[]>();
  const affected: Hit[] = [];
  const unreachable: Down[] = [];
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
        if ((await openAt(git, current.commit, [record], verdicts)).length) {
          const { version, commit } = current;
          affected.push({ env, node: node.name, release: s.current!, version, commit });
        }
      }
    });
  }
  return { id: record.id, poison: record.commit, affected, unreachable };
}
