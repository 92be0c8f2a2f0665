import { assertReleaseName } from './paths.js';

/** Characters outside this set become `-`; `_` is the separator, so it is replaced too. */
function safePart(value: string, max = 48): string {
  const cleaned = value
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, max)
    .replace(/[-.]+$/g, '');
  return cleaned || 'unknown';
}

/** `20261121-170203`, in UTC so every deploy machine names a run the same way. */
export function stamp(time: Date): string {
  const iso = time.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

export interface ReleaseNameParts {
  readonly project: string;
  readonly env: string;
  readonly version: string;
  readonly branch: string;
  readonly time: Date;
  readonly author: string;
}

/** `<project>_<env>_<version>_<branch>_<YYYYMMDD-HHMMSS>_<author>`, computed once per run. */
export function releaseName(parts: ReleaseNameParts): string {
  const name = [
    safePart(parts.project),
    safePart(parts.env),
    safePart(parts.version),
    safePart(parts.branch),
    stamp(parts.time),
    safePart(parts.author, 32),
  ].join('_');
  assertReleaseName(name);
  return name;
}
