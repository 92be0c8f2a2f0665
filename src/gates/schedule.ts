import semver from 'semver';
import type { ScheduleEntry } from '../config/types.js';

export interface NamedEntry extends ScheduleEntry {
  readonly name: string;
}

export function named(entries: readonly ScheduleEntry[]): NamedEntry[] {
  return entries.map((e, i) => ({ ...e, name: e.name ?? `${e.env}-${i + 1}` }));
}

/**
 * The tag a schedule entry takes: `latest` is the highest semver release tag, a range
 * the highest tag inside it, anything else that exact tag. Tags that are not
 * semver (with or without a leading v) never count.
 */
export function pickTag(spec: string, tags: readonly string[]): string | undefined {
  const versions = tags
    .map((tag) => ({ tag, v: semver.valid(semver.clean(tag) ?? '') }))
    .filter((t): t is { tag: string; v: string } => Boolean(t.v));
  // `latest` never picks a pre-release (v2.0.0-rc.1): a schedule ships releases.
  if (spec === 'latest')
    return semver
      .rsort(versions.map((t) => t.v).filter((v) => !semver.prerelease(v)))
      .map((v) => versions.find((t) => t.v === v)!.tag)[0];
  if (semver.validRange(spec) && !tags.includes(spec)) {
    const best = semver.maxSatisfying(
      versions.map((t) => t.v),
      spec,
    );
    return best ? versions.find((t) => t.v === best)!.tag : undefined;
  }
  return tags.includes(spec) ? spec : undefined;
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
