import semver from 'semver';
import type { ScheduleEntry } from '../config/types.js';

export interface NamedEntry extends ScheduleEntry {
  readonly name: string;
}

export function named(entries: readonly ScheduleEntry[]): NamedEntry[] {
  return entries.map((e, i) => ({ ...e, name: e.name ?? `${e.env}-${i + 1}` }));
}

/** A tag that names a version: an optional `v`, 1 to 3 numbers, maybe a pre-release and build part. */
const VERSION_TAG = /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The semver version a tag names, its missing parts 0: `v1` is 1.0.0, `v1.2` 1.2.0, `2.0.0-rc.1` itself.
 * Anything else (`nightly`, `release-2`, `v1.2.3.4`, `v01`) names no version and is never picked by
 * `latest` or a range.
 */
export function tagVersion(tag: string): string | undefined {
  return readTag(tag)?.v;
}

function readTag(tag: string): { tag: string; v: string; parts: number } | undefined {
  const m = VERSION_TAG.exec(tag);
  const v = m ? semver.valid(`${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${m[4] ?? ''}`) : null;
  return m && v ? { tag, v, parts: m.slice(1, 4).filter(Boolean).length } : undefined;
}

/**
 * The tag a schedule entry takes:
 * - `latest`: the tag of the highest version that is not a pre-release;
 * - a tag that exists: that tag;
 * - a semver range (`*`, `>=1`, `^3`, `~1.2`, `1.x`, `v2`): the highest version inside it, pre-releases
 *   only when the range names one (`>=2.0.0-rc.0`);
 * - anything else: nothing.
 * Versions are read from tags by `tagVersion`. When two tags name the same version (`v1` and `v1.0.0`),
 * the one with more parts written out wins, then the first in byte order.
 */
export function pickTag(spec: string, tags: readonly string[]): string | undefined {
  const versions = tags
    .flatMap((tag) => readTag(tag) ?? [])
    .sort((a, b) => semver.rcompare(a.v, b.v) || b.parts - a.parts || (a.tag < b.tag ? -1 : 1));
  // `latest` never picks a pre-release (v2.0.0-rc.1): a schedule ships releases.
  if (spec === 'latest') return versions.find((t) => !semver.prerelease(t.v))?.tag;
  if (tags.includes(spec)) return spec;
  const range = semver.validRange(spec);
  return range ? versions.find((t) => semver.satisfies(t.v, range))?.tag : undefined;
}

/**
 * `promote:pre`: the one version every pre node runs and has proven good;
 * undefined if they disagree or none is good.
 */
export function promotedVersion(pre: readonly { version?: string; good: boolean }[]): string | undefined {
  const versions = new Set(pre.map((n) => (n.good ? n.version : undefined)));
  if (versions.size !== 1) return undefined;
  return [...versions][0];
}
