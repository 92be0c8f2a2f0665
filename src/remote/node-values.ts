// What a node says about itself (its journal, its lock's owner record, where `current` points) is
// checked here before anything uses it: whoever can write the deploy user's files on one node must
// not be able to put an option on a command line of the deploy machine, a path into a command on
// a node, or a terminal sequence into what relink prints. A value that fails its check is treated
// as absent, and the caller says so, naming the node.
import path from 'node:path/posix';
import { isReleaseName, type Layout } from './paths.js';

export { isReleaseName };

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** What `deploy <env> <version>` accepts, and so all a version label can be: a tag, a branch, a short commit. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/;
/** A branch name's characters; the rest of git's rules are in isBranchName. */
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/;
/** Run ids (`20261121-170203-a1b2c3`), poison ids (`p-1a2b3c4d`): a word that cannot be an option. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** What `new Date().toISOString()` writes, with or without milliseconds. */
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$/;

/** A full commit id as git prints it: 40 hex digits (SHA-1) or 64 (SHA-256). */
export function isCommit(value: unknown): value is string {
  return typeof value === 'string' && COMMIT.test(value);
}

/** A version label relink itself would have written: what resolveVersion accepts. */
export function isVersion(value: unknown): value is string {
  return typeof value === 'string' && VERSION.test(value) && !value.includes('..') && value.length <= 200;
}

/**
 * A branch name relink passes to git (`--branches`, a merge record in a journal): the safe part of git's
 * ref-name rules, never an option (no leading `-`), never a range or a reflog expression.
 */
export function isBranchName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 100 &&
    BRANCH.test(value) &&
    !/\.\.|\/\/|\/\.|@\{|\.lock(?:\/|$)/.test(value) &&
    !/[./]$/.test(value)
  );
}

/** A run id or a poison id. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

/** A UTC time stamp as relink writes it (`2026-11-21T17:02:03.000Z`). */
export function isTime(value: unknown): value is string {
  return typeof value === 'string' && TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Free text (a user, a host, a reason, a message): any string of a sane length. It is never part
 * of a command; every listing prints it through `printable`, which escapes control characters.
 */
export function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 4096;
}

/** A process id: a positive integer (0 and -1 would name a process group or every process). */
export function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * The release `current` points at, from the target of the symlink: `releases/<name>` as
 * relinkCurrent writes it, or the same dir as an absolute path. Anything else (a path elsewhere,
 * `..`, a name relink would not use) is undefined.
 */
export function currentRelease(l: Layout, target: string): string | undefined {
  const name = path.basename(target);
  const dir = path.dirname(target);
  return (dir === 'releases' || dir === l.releases) && isReleaseName(name) ? name : undefined;
}
