import type { Finding } from '../../gates/poison.js';
import type { Artifact, VersionInfo } from '../context.js';

/** Where the code comes from: git and the build on a real run, fixed values in the pipeline tests. */
export interface Source {
  resolve(requested: string): Promise<VersionInfo>;
  /** Builds (or takes from the cache) the artifact; `signal` stops the build and everything it started. */
  build(version: VersionInfo, signal?: AbortSignal): Promise<Artifact>;
  /** Commits in `to` that are not in `from`, newest first; empty when unknown. */
  log(from: string | undefined, to: string): Promise<{ sha: string; subject: string }[]>;
  /** The known bugs (poison records) in the history of a commit, and whether each is cured there. */
  check(commit: string): Promise<Finding[]>;
  /** Refuses an artifact with entries or links that would land outside the release dir. */
  inspect(artifact: Artifact): Promise<void>;
}
