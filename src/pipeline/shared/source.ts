import type { Finding, PoisonRecord } from '../../gates/poison.js';
import type { Artifact, VersionInfo } from '../context.js';

/** Where the code comes from: git and the build on a real run, fixed values in the pipeline tests. */
export interface Source {
  resolve(requested: string): Promise<VersionInfo>;
  /**
   * Builds (or takes from the cache) the artifact; `signal` stops the build and everything it started.
   * With `host`, the build runs on that node (build.on).
   */
  build(version: VersionInfo, signal?: AbortSignal, host?: BuildHost): Promise<Artifact>;
  /** Commits in `to` that are not in `from`, newest first; empty when unknown. */
  log(from: string | undefined, to: string): Promise<{ sha: string; subject: string }[]>;
  /** The known bugs (poison records) in the history of a commit, and whether each is cured there. */
  check(commit: string): Promise<Finding[]>;
  /**
   * The nodes of every environment whose current release has one of `records` without its fix (the
   * check after a hotfix); absent where the run has no other environments to read (the pipeline tests).
   */
  stillRunning?(records: readonly PoisonRecord[]): Promise<StillRunning>;
  /** Refuses an artifact with entries or links that would land outside the release dir. */
  inspect(artifact: Artifact): Promise<void>;
}

/** Per record id, the nodes that still run it without its fix; the nodes that could not be read. */
export interface StillRunning {
  readonly affected: ReadonlyMap<string, readonly NodeOn[]>;
  readonly unreachable: readonly { readonly env: string; readonly node: string }[];
}

export interface NodeOn {
  readonly env: string;
  readonly node: string;
  readonly release: string;
  readonly version?: string;
}

/** What a build on a node (build.on) is given: the export, where its packed output goes, its environment. */
export interface BuildJob {
  /** The clean export of the commit, as a tarball on this machine. */
  readonly exportTar: string;
  /** Where the packed output of the build is to be written on this machine, its checksum verified. */
  readonly into: string;
  readonly env: Readonly<Record<string, string>>;
  /** The values build.passEnv takes from this machine: redacted wherever the command shows. */
  readonly secretEnv: Readonly<Record<string, string>>;
}

/** A node the build runs on instead of this machine (build.on). */
export interface BuildHost {
  readonly node: string;
  /** The node's platform word (remote/platform.ts), read once. */
  platform(signal?: AbortSignal): Promise<string>;
  build(job: BuildJob, signal?: AbortSignal): Promise<void>;
}
