import path from 'node:path/posix';

/** Where everything lives under `deployTo` on a node. */
export interface Layout {
  readonly deployTo: string;
  readonly releases: string;
  readonly shared: string;
  readonly current: string;
  readonly state: string;
  readonly journal: string;
  readonly lock: string;
  readonly incoming: string;
}

export function layout(deployTo: string): Layout {
  const root = deployTo.replace(/\/+$/, '') || '/';
  const state = path.join(root, '.relink');
  return {
    deployTo: root,
    releases: path.join(root, 'releases'),
    shared: path.join(root, 'shared'),
    current: path.join(root, 'current'),
    state,
    journal: path.join(state, 'journal.jsonl'),
    lock: path.join(state, 'lock'),
    incoming: path.join(state, 'incoming'),
  };
}

const RELEASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The directory of a release. The name is checked here because it becomes
 * part of `rm -rf` commands: no slash, no `..`, nothing empty.
 */
export function releaseDir(l: Layout, name: string): string {
  assertReleaseName(name);
  return path.join(l.releases, name);
}

/**
 * What releaseName() produces, and so all a release name read from a node may be: letters,
 * digits, `.`, `_` and `-`, never first `-` or `.`, no `..`, no slash.
 */
export function isReleaseName(name: unknown): name is string {
  return typeof name === 'string' && RELEASE_NAME.test(name) && !name.includes('..') && name.length <= 255;
}

export function assertReleaseName(name: string): void {
  if (!isReleaseName(name)) throw new Error(`unsafe release name: ${JSON.stringify(name)}`);
}

/**
 * A path inside a release or shared dir, given relative in the config
 * (`log`, `config/app.env`). Refuses anything that would leave the base.
 */
export function inside(base: string, relative: string): string {
  const joined = path.normalize(path.join(base, relative));
  if (path.isAbsolute(relative) || joined === base || !joined.startsWith(`${base}/`)) {
    throw new Error(`path ${JSON.stringify(relative)} leaves ${base}`);
  }
  return joined;
}
