// The release schedules (`deploy schedule`): what an entry would deploy now, and a deploy run as a child
// process of this one, with every gate.
import path from 'node:path';
import { environmentSettings, findConfigFile, loadUserConfig } from '../config/load.js';
import { type NamedEntry, named, pickTag, promotedVersion } from '../gates/schedule.js';
import { releaseRecords } from '../journal/releases.js';
import { state } from '../pipeline/context.js';
import { type NodeChild, runNodeScript } from '../transport/child.js';
import { openRun } from './compose.js';
import { withObserved } from './observed.js';
import { openMirror } from './repo.js';

export type { NamedEntry, NodeChild };
export { announceCrontabLine, crontabLines } from './crontab.js';

/** The schedule entries of the project's config, each with its time zone. */
export async function scheduleEntries(configPath?: string) {
  const file = findConfigFile(process.cwd(), configPath);
  const user = await loadUserConfig(file);
  // An entry's own zone, else its environment's (merged over the top level, the schema's default filled in).
  const tzOf = (e: NamedEntry) => e.timezone ?? environmentSettings(user, e.env).timezone;
  return { file, root: path.dirname(file), entries: named(user.schedule ?? []), tzOf };
}

/** What an entry would deploy now, or why it would not. */
export async function resolveEntry(
  entry: NamedEntry,
  configPath: string | undefined,
): Promise<{ version?: string; skip?: string }> {
  const running = (env: string) =>
    withObserved({ env, config: configPath, command: 'schedule' }, async ({ seen }) =>
      seen.nodes
        .filter((n) => !seen.unreachable.has(n.name))
        .map((n) => {
          const s = state(seen.ctx, n);
          const r = s.current ? releaseRecords(s.events).get(s.current) : undefined;
          return { version: r?.version, good: r?.status === 'good' };
        }),
    );
  let version: string | undefined;
  if (entry.version === 'promote:pre') {
    version = promotedVersion(await running('pre'));
    if (!version) return { skip: 'the pre nodes do not all run one good release' };
  } else {
    const run = await openRun({ env: entry.env, config: configPath, command: 'schedule', quiet: true, runLog: false });
    const mirror = openMirror(run.stateDir, run.config.repo);
    await mirror.sync();
    await run.close();
    version = pickTag(entry.version, await mirror.tags());
    if (!version) return { skip: `no tag matches "${entry.version}"` };
  }
  const now = await running(entry.env);
  if (now.length && now.every((n) => n.version === version)) {
    return { skip: `${entry.env} already runs ${version}: no new version` };
  }
  return { version };
}

/** Runs one normal deploy, with every gate, as a child process; resolves its exit code. */
export async function runDeploy(
  entry: NamedEntry,
  version: string,
  configPath: string | undefined,
  children: Set<NodeChild>,
): Promise<number> {
  const args = [
    entry.env,
    version,
    '--author',
    `schedule:${entry.name}`,
    ...(configPath ? ['--config', configPath] : []),
  ];
  const child = runNodeScript(process.argv[1]!, args);
  children.add(child);
  try {
    return await child.exited;
  } finally {
    children.delete(child);
  }
}
