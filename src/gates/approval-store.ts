// The approval records on refs/relink/approvals of the application repository (one JSON file each, public keys
// under keys/), read as last fetched and written with a push that retries on top of another writer's.
import { RelinkError } from '../errors.js';
import type { GitRecords } from '../transport/git.js';
import { APPROVALS_REF, type ApprovalRecords, keyId, NO_RECORDS } from './approvals.js';

const FOLDERS = {
  requests: 'requests',
  approvals: 'approvals',
  standing: 'standing',
  reviews: 'reviews',
  signOffs: 'signoffs',
  used: 'used',
} as const;
type Kind = keyof typeof FOLDERS;

/** What each kind of record must hold to be read at all (a signature is judged later). */
const REQUIRED: Record<Kind, readonly string[]> = {
  requests: ['id', 'env', 'version', 'commit', 'requester', 'requestedAt'],
  approvals: ['request', 'env', 'commit', 'requester', 'approver', 'approvedAt', 'expiresAt'],
  standing: ['schedule', 'env', 'entryHash', 'approver', 'approvedAt'],
  reviews: ['id', 'run', 'env', 'version', 'deployer', 'at'],
  signOffs: ['review', 'signer', 'at'],
  used: ['request', 'run', 'by', 'at'],
};

/** The path of a record of this kind. */
export function recordPath(kind: Kind, id: string): string {
  return `${FOLDERS[kind]}/${id}.json`;
}

export function keyPath(id: string): string {
  return `keys/${id}.pem`;
}

export function parseApprovalFiles(files: ReadonlyMap<string, string>): ApprovalRecords & { malformed: string[] } {
  const out = { requests: [], approvals: [], standing: [], reviews: [], signOffs: [], used: [] } as unknown as Record<
    Kind,
    object[]
  >;
  const keys = new Map<string, string>();
  const malformed: string[] = [];
  for (const [file, text] of files) {
    const key = /^keys\/([0-9a-f]{16})\.pem$/.exec(file);
    if (key) {
      try {
        if (keyId(text) === key[1]) keys.set(key[1]!, text);
        else malformed.push(file);
      } catch {
        malformed.push(file);
      }
      continue;
    }
    const kind = (Object.keys(FOLDERS) as Kind[]).find((k) => file.startsWith(`${FOLDERS[k]}/`));
    if (!kind) continue;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (!REQUIRED[kind].every((f) => typeof value[f] === 'string')) throw new Error('missing fields');
      out[kind].push(value);
    } catch {
      malformed.push(file);
    }
  }
  return { ...(out as unknown as Omit<ApprovalRecords, 'keys'>), keys, malformed };
}

/** The records as last fetched (none when the ref does not exist yet). */
export async function readApprovals(git: GitRecords): Promise<ApprovalRecords & { malformed: string[] }> {
  const tip = await git.tip(APPROVALS_REF);
  return tip ? parseApprovalFiles(await git.readFiles(tip, '.')) : { ...NO_RECORDS, malformed: [] };
}

/** Fetches the ref, then reads it; false `fresh` when the repository could not be reached. */
export async function fetchApprovals(git: GitRecords): Promise<ApprovalRecords & { fresh: boolean }> {
  const fetched = await git.fetchRef(APPROVALS_REF);
  return { ...(await readApprovals(git)), fresh: fetched.ok };
}

/**
 * Writes files onto the ref and pushes them. `change` sees the records as fetched and returns the files to
 * write (it may throw to refuse); when another writer pushed first it runs again on top of theirs.
 */
export async function writeApprovals<T>(
  git: GitRecords,
  change: (current: ApprovalRecords) => { files: ReadonlyMap<string, string>; result: T },
  message: string,
): Promise<T> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    const fetched = await git.fetchRef(APPROVALS_REF);
    if (!fetched.ok)
      throw new RelinkError(`cannot reach the repository to share the record: ${fetched.reason ?? 'fetch failed'}`, {
        hint: ['approvals must be pushed to be seen by others: check the network and repo in deploy.config.ts'],
      });
    const tip = await git.tip(APPROVALS_REF);
    const current = tip ? parseApprovalFiles(await git.readFiles(tip, '.')) : NO_RECORDS;
    const { files, result } = change(current);
    const commit = await git.commitFiles(tip, files, message);
    const pushed = await git.push(commit, APPROVALS_REF);
    if (pushed === 'ok') {
      await git.setRef(APPROVALS_REF, commit);
      return result;
    }
    if (pushed !== 'rejected')
      throw new RelinkError(`cannot push the record to the repository: ${pushed.error}. Nothing was recorded.`, {
        hint: ['check that you may push to the repository in deploy.config.ts'],
      });
    await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
  }
  throw new RelinkError('the approval records changed under us 8 times in a row; nothing was recorded', {
    hint: ['try again'],
  });
}

export const json = (value: object) => `${JSON.stringify(value, null, 2)}\n`;
