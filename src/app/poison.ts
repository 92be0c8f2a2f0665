// The release gate's operations, written once for both doors: poison a commit, cure a record,
// check a revision (the body of `check --json` and of the API's check), and a record's impact.
import { UsageError } from '../errors.js';
import { nextStep, said } from '../next.js';
import { checkHistory, type Finding, newPoisonId, open, type PoisonRecord, writeRecord } from '../gates/poison.js';
import { resolveCommit, type GitRecords } from './repo.js';
import { closest } from './version.js';
import type { CheckJson } from './views.js';

export type { Finding, PoisonRecord };
export { describeOpen, loadRecords, open } from '../gates/poison.js';
export { openRepo, poisonRecords, resolveCommit } from './repo.js';

/** The record with this id, or a usage error naming the closest ids. */
export function recordOrFail<T extends { id: string }>(list: readonly T[], id: string): T {
  const found = list.find((r) => r.id === id);
  if (!found) {
    const near = closest(
      id,
      list.map((r) => r.id),
    );
    const which = near.length ? `; closest: ${near.join(', ')}` : ' (there are none)';
    throw new UsageError(`no poison record "${id}"${which}`, { hint: said`${nextStep('poison-list')} shows them all` });
  }
  return found;
}

/** Records a known bug at `commit` and pushes it. */
export async function poisonCommit(
  git: GitRecords,
  commit: string,
  fields: { readonly comment: string; readonly ticket?: string; readonly who: string },
): Promise<PoisonRecord> {
  const when = new Date().toISOString();
  return writeRecord(
    git,
    () => ({ id: newPoisonId(commit, when), commit, ...fields, when, cures: [] }),
    `poison ${commit.slice(0, 12)}: ${fields.comment}`,
  );
}

/** Adds the cure `fix` to the record `id` (once: a second cure by the same commit changes nothing). */
export async function cureRecord(git: GitRecords, target: PoisonRecord, fix: string, who: string) {
  const when = new Date().toISOString();
  return writeRecord(
    git,
    (current) => {
      const latest = current.find((r) => r.id === target.id) ?? target;
      if (latest.cures.some((c) => c.commit === fix)) return latest;
      return { ...latest, cures: [...latest.cures, { commit: fix, who, when }] };
    },
    `cure ${target.id} with ${fix.slice(0, 12)}`,
  );
}

/** The known bugs in the history of `rev`, and the body both doors print. */
export async function checkRevision(
  git: GitRecords,
  rev: string,
  records: () => Promise<readonly PoisonRecord[]>,
): Promise<{ body: CheckJson; findings: Finding[] }> {
  const commit = await resolveCommit(git, rev);
  const findings = await checkHistory(git, commit, await records());
  const openOnes = open(findings);
  const cured = findings.flatMap((f) =>
    f.curedBy && f.how ? [{ id: f.record.id, curedBy: f.curedBy, how: f.how }] : [],
  );
  const body = { rev, commit, healthy: openOnes.length === 0, open: openOnes.map((f) => f.record), cured };
  return { body, findings };
}

/**
 * The open records in the history of a node's commit, by id; a commit the mirror does not know
 * (or no records at all) has none. Cached per commit by the caller's map.
 */
export async function openAt(
  git: GitRecords,
  commit: string,
  records: readonly PoisonRecord[],
  seen: Map<string, string[]>,
): Promise<string[]> {
  let ids = seen.get(commit);
  if (!ids) {
    const known = records.length ? await git.resolve(commit) : undefined;
    const findings = known ? await checkHistory(git, commit, records) : [];
    ids = open(findings).map((f) => f.record.id);
    seen.set(commit, ids);
  }
  return ids;
}
