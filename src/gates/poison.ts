import crypto from 'node:crypto';
import { GateError, RelinkError, UsageError } from '../errors.js';
import { nextStep, type Part, type Said, said } from '../next.js';
import { printable } from '../log/listing.js';
import type { GitRecords } from '../transport/git.js';

export const POISON_REF = 'refs/relink/poison';
const DIR = 'records';

export interface Cure {
  readonly commit: string;
  readonly who: string;
  readonly when: string;
}

/** One known bug: the commit that brought it in, and the commits that fix it. */
export interface PoisonRecord {
  readonly id: string;
  readonly commit: string;
  readonly comment: string;
  readonly ticket?: string;
  readonly who: string;
  readonly when: string;
  readonly cures: readonly Cure[];
}

export interface Loaded {
  readonly records: PoisonRecord[];
  /** Files on the ref that are not valid records: skipped, and named in a warning. */
  readonly malformed: string[];
}

export function parseRecords(files: ReadonlyMap<string, string>): Loaded {
  const records: PoisonRecord[] = [];
  const malformed: string[] = [];
  for (const [file, text] of files) {
    try {
      const r = JSON.parse(text) as PoisonRecord;
      if (typeof r.id !== 'string' || !/^[0-9a-f]{40}$/.test(r.commit) || !Array.isArray(r.cures))
        throw new Error('missing fields');
      records.push(r);
    } catch {
      malformed.push(file);
    }
  }
  records.sort((a, b) => a.when.localeCompare(b.when) || a.id.localeCompare(b.id));
  return { records, malformed };
}

/** The records on the poison ref as last fetched (none when the ref does not exist yet). */
export async function loadRecords(git: GitRecords): Promise<Loaded> {
  const tip = await git.tip(POISON_REF);
  return tip ? parseRecords(await git.readFiles(tip, DIR)) : { records: [], malformed: [] };
}

export function newPoisonId(commit: string, when: string): string {
  return `p-${crypto
    .createHash('sha256')
    .update(`${commit}\0${when}\0${crypto.randomBytes(8).toString('hex')}`)
    .digest('hex')
    .slice(0, 8)}`;
}

/** What the check found for one record in the history of a revision. */
export interface Finding {
  readonly record: PoisonRecord;
  /** The cure commit, or the commit equivalent to it, that is in the history. */
  readonly curedBy?: string;
  readonly how?: 'commit' | 'cherry-pick trailer' | 'patch-id';
}

/**
 * The poisons in the history of `rev` and whether each is cured there. One
 * `rev-list` for reachability and one `log` for cherry-pick trailers cover
 * every record at once; patch-ids are compared only for the few cures found
 * neither way.
 */
export async function checkHistory(git: GitRecords, rev: string, records: readonly PoisonRecord[]): Promise<Finding[]> {
  const history = await git.history(rev);
  const poisoned = records.filter((r) => history.has(r.commit));
  if (poisoned.length === 0) return [];
  const picked = await git.cherryPickedFrom(rev);
  const pickedFull = (commit: string) => [...picked].some((p) => commit.startsWith(p));
  const findings: Finding[] = [];
  for (const record of poisoned) {
    const direct = record.cures.find((c) => history.has(c.commit));
    if (direct) {
      findings.push({ record, curedBy: direct.commit, how: 'commit' });
      continue;
    }
    const trailer = record.cures.find((c) => pickedFull(c.commit));
    if (trailer) {
      findings.push({ record, curedBy: trailer.commit, how: 'cherry-pick trailer' });
      continue;
    }
    let equivalent: string | undefined;
    for (const cure of record.cures) {
      if (await git.hasEquivalent(rev, cure.commit)) {
        equivalent = cure.commit;
        break;
      }
    }
    findings.push(equivalent ? { record, curedBy: equivalent, how: 'patch-id' } : { record });
  }
  return findings;
}

export const open = (findings: readonly Finding[]) => findings.filter((f) => !f.curedBy);

export function describeOpen(findings: readonly Finding[]): string {
  return open(findings)
    .map(({ record: r }) => {
      const ticket = r.ticket ? ` [${printable(r.ticket)}]` : '';
      const by = `(by ${printable(r.who)}, ${printable(r.when.slice(0, 10))})`;
      return `  ${printable(r.id)}  poison ${r.commit.slice(0, 12)}  ${printable(r.comment)}${ticket} ${by}`;
    })
    .join('\n');
}

/**
 * The release gate: refuses a version whose history holds a poison without
 * its cure, unless every open one is allowed by id with a reason.
 */
export function gate(
  version: string,
  findings: readonly Finding[],
  allowed: readonly string[],
  reason: string | undefined,
  instead?: (allow: readonly Part[]) => Said,
): { allowed: string[] } {
  const openOnes = open(findings);
  const notAllowed = openOnes.filter((f) => !allowed.includes(f.record.id));
  if (notAllowed.length === 0) {
    if (openOnes.length && !reason)
      throw new UsageError('--allow-poison needs --reason "why this release may go out anyway"');
    return { allowed: openOnes.map((f) => f.record.id) };
  }
  const ids = notAllowed.map((f) => f.record.id);
  const allow = said`${nextStep('again', undefined, { 'allow-poison': ids, reason: '...' })}`;
  const check = nextStep('check', undefined, undefined, ['<rev>']);
  throw new GateError(
    `${version} contains ${notAllowed.length} known bug(s) without their fix:\n${describeOpen(notAllowed)}`,
    {
      hint:
        instead?.(allow) ??
        said`release a version with the fix (${check} shows what is missing), or, deliberately: ${allow}`,
    },
  );
}

/**
 * Adds or changes one record on the poison ref and pushes it. When someone
 * else pushed first, fetches their records and applies this change again on
 * top: both keep theirs, nothing is dropped.
 */
export async function writeRecord(
  git: GitRecords,
  change: (current: PoisonRecord[]) => PoisonRecord,
  message: string,
): Promise<PoisonRecord> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    const fetched = await git.fetchRef(POISON_REF);
    if (!fetched.ok)
      throw new RelinkError(
        `cannot reach the repository to share the record: ${fetched.reason ?? 'fetch failed'}. Nothing was recorded.`,
        { hint: 'records must be pushed to be seen by others: check the network and repo in deploy.config.ts' },
      );
    const tip = await git.tip(POISON_REF);
    const current = tip ? parseRecords(await git.readFiles(tip, DIR)).records : [];
    const record = change(current);
    const commit = await git.commitFiles(
      tip,
      new Map([[`${DIR}/${record.id}.json`, `${JSON.stringify(record, null, 2)}\n`]]),
      message,
    );
    const pushed = await git.push(commit, POISON_REF);
    if (pushed === 'ok') {
      await git.setRef(POISON_REF, commit);
      return record;
    }
    if (pushed !== 'rejected')
      throw new RelinkError(`cannot push the record to the repository: ${pushed.error}. Nothing was recorded.`, {
        hint: 'check that you may push to the repository in deploy.config.ts',
      });
    await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
  }
  throw new RelinkError('the poison records changed under us 8 times in a row; nothing was recorded', {
    hint: 'try again',
  });
}
