// What DORA's lead time for changes needs from git: when the first commit of each deployed release was made.
// The commits come from the journals' run_finished records (RunRecord.commit); the times from the project's
// mirror as it was fetched last (every deploy fetches it; `deploy stats` does not), so a commit it lacks has no
// lead time.
import type { RunRecord } from '../journal/history.js';
import type { GitMirror } from './repo.js';

/**
 * The committer time (seconds) of the oldest commit in `to` that is not in `from` (the first commit of a
 * release after the one before it); `to`'s own time when there is none or no `from`; undefined when the mirror
 * does not have the commits.
 */
export async function firstCommitTime(
  mirror: GitMirror,
  from: string | undefined,
  to: string,
): Promise<number | undefined> {
  const range = from ? ['--end-of-options', `${from}..${to}`] : ['-n', '1', '--end-of-options', to];
  const out = await mirror.tryGit(['log', '--format=%ct', ...range]);
  if (out === undefined) return undefined;
  const last = out.trim().split('\n').filter(Boolean).pop();
  if (last === undefined) return from ? firstCommitTime(mirror, undefined, to) : undefined;
  const seconds = Number.parseInt(last, 10);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/**
 * Run id -> when the first commit of its release was made (ms), for the successful deploys among `inWindow`:
 * the oldest commit not in the release the environment ran before (the previous run that put a release out,
 * found among all `runs`, also before the window).
 */
export async function firstCommits(
  mirror: GitMirror,
  runs: readonly RunRecord[],
  inWindow: readonly RunRecord[],
): Promise<Map<string, number>> {
  const wanted = new Set(inWindow.filter((r) => r.kind === 'deploy').map((r) => r.run));
  const chronological = [...runs].sort((a, b) => a.ts.localeCompare(b.ts) || a.run.localeCompare(b.run));
  const times = new Map<string, number>();
  let previous: string | undefined;
  for (const r of chronological) {
    if (r.result !== 'success' && r.result !== 'partial') continue;
    const { commit } = r;
    if (wanted.has(r.run) && commit) {
      const seconds = await firstCommitTime(mirror, previous !== commit ? previous : undefined, commit);
      if (seconds !== undefined) times.set(r.run, seconds * 1000);
    }
    if (commit) previous = commit;
  }
  return times;
}
