import path from 'node:path';
import type { GitRecords } from '../transport/git.js';

/** The application repository's mirror, fetched (or, offline, as fetched last). */
async function openRepo(configPath?: string): Promise<{ git: GitRecords; user: string; root: string }> {
  const { findConfigFile, loadUserConfig, resolveRepo } = await import('../config/load.js');
  const { GitMirror, GitRecords } = await import('../transport/git.js');
  const { whoAmI } = await import('./compose.js');
  const file = findConfigFile(process.cwd(), configPath);
  const user = await loadUserConfig(file);
  const root = path.dirname(file);
  const mirror = new GitMirror(path.join(root, '.relink', 'repo.git'), resolveRepo(user, file));
  const synced = await mirror.sync();
  if (synced.offline) process.stderr.write(`warning: cannot fetch ${mirror.remote} (${synced.reason ?? 'unreachable'}); working offline on the last fetched state\n`);
  return { git: new GitRecords(mirror), user: await whoAmI(), root };
}

async function records(git: GitRecords) {
  const { loadRecords } = await import('../gates/poison.js');
  const loaded = await loadRecords(git);
  for (const file of loaded.malformed) process.stderr.write(`warning: skipped a malformed poison record on refs/relink/poison: ${file}\n`);
  return loaded.records;
}

async function commitOrFail(git: GitRecords, rev: string): Promise<string> {
  const { UsageError } = await import('../errors.js');
  const sha = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(rev) ? await git.resolve(rev) : undefined;
  if (!sha) throw new UsageError(`no commit "${rev}" in the repository`, { hint: 'give a commit id, tag or branch that exists (git log --oneline)' });
  return sha;
}

async function recordOrFail<T extends { id: string }>(list: readonly T[], id: string): Promise<T> {
  const { UsageError } = await import('../errors.js');
  const { closest } = await import('../pipeline/phases/version.js');
  const found = list.find((r) => r.id === id);
  if (!found) {
    const near = closest(id, list.map((r) => r.id));
    throw new UsageError(`no poison record "${id}"${near.length ? `; closest: ${near.join(', ')}` : ' (there are none)'}`, { hint: 'deploy poison list shows them all' });
  }
  return found;
}

export async function poisonCommand(argv: { target: string; id?: string; message?: string; ticket?: string; open?: boolean; json?: boolean; config?: string }): Promise<void> {
  const { git, user } = await openRepo(argv.config);
  const { UsageError } = await import('../errors.js');
  const { writeRecord, newPoisonId } = await import('../gates/poison.js');
  if (argv.target === 'list' || argv.target === 'show') {
    const all = await records(git);
    if (argv.target === 'show') {
      if (!argv.id) throw new UsageError('name the record: deploy poison show <id>');
      process.stdout.write(JSON.stringify(await recordOrFail(all, argv.id), null, 2) + '\n');
      return;
    }
    const list = argv.open ? all.filter((r) => r.cures.length === 0) : all;
    if (argv.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    if (list.length === 0) process.stdout.write(argv.open ? 'no open poison records\n' : 'no poison records\n');
    for (const r of list) {
      process.stdout.write(`${r.id}  ${r.commit.slice(0, 12)}  ${r.cures.length ? `cured by ${r.cures.map((c) => c.commit.slice(0, 12)).join(', ')}` : 'OPEN'}  ${r.comment}${r.ticket ? ` [${r.ticket}]` : ''}  (${r.who}, ${r.when.slice(0, 10)})\n`);
    }
    return;
  }
  if (!argv.message) throw new UsageError('say what the bug is: deploy poison <commit> -m "..."');
  const commit = await commitOrFail(git, argv.target);
  const when = new Date().toISOString();
  const record = await writeRecord(
    git,
    () => ({ id: newPoisonId(commit, when), commit, comment: argv.message!, ticket: argv.ticket, who: user, when, cures: [] }),
    `poison ${commit.slice(0, 12)}: ${argv.message}`,
  );
  process.stdout.write(`${record.id}\n`);
  process.stderr.write(`poisoned ${commit.slice(0, 12)} as ${record.id}; which environments run it: deploy impact ${record.id}\n`);
}

export async function cureCommand(argv: { id: string; fix: string; config?: string }): Promise<void> {
  const { git, user } = await openRepo(argv.config);
  const { writeRecord } = await import('../gates/poison.js');
  const all = await records(git);
  await recordOrFail(all, argv.id);
  const fix = await commitOrFail(git, argv.fix);
  const target = all.find((r) => r.id === argv.id)!;
  if (!(await git.isAncestor(target.commit, fix))) {
    process.stderr.write(`warning: ${fix.slice(0, 12)} does not descend from the poison ${target.commit.slice(0, 12)}; recorded anyway (a cherry-pick onto another branch is fine)\n`);
  }
  const when = new Date().toISOString();
  await writeRecord(
    git,
    (current) => {
      const latest = current.find((r) => r.id === argv.id) ?? target;
      if (latest.cures.some((c) => c.commit === fix)) return latest;
      return { ...latest, cures: [...latest.cures, { commit: fix, who: user, when }] };
    },
    `cure ${argv.id} with ${fix.slice(0, 12)}`,
  );
  process.stdout.write(`${argv.id} cured by ${fix.slice(0, 12)}\n`);
}

export async function checkCommand(argv: { rev: string; json?: boolean; config?: string }): Promise<void> {
  const { git } = await openRepo(argv.config);
  const { checkHistory, open, describeOpen } = await import('../gates/poison.js');
  const { EXIT } = await import('../errors.js');
  const commit = await commitOrFail(git, argv.rev);
  const findings = await checkHistory(git, commit, await records(git));
  const openOnes = open(findings);
  if (argv.json) {
    process.stdout.write(
      JSON.stringify(
        { rev: argv.rev, commit, healthy: openOnes.length === 0, open: openOnes.map((f) => f.record), cured: findings.filter((f) => f.curedBy).map((f) => ({ id: f.record.id, curedBy: f.curedBy, how: f.how })) },
        null,
        2,
      ) + '\n',
    );
  } else if (openOnes.length === 0) {
    process.stdout.write(`${argv.rev}: healthy${findings.length ? ` (${findings.length} known bug(s) in its history, all cured)` : ''}\n`);
  } else {
    process.stdout.write(`${argv.rev}: ${openOnes.length} known bug(s) without their fix:\n${describeOpen(findings)}\n`);
  }
  if (openOnes.length) process.exitCode = EXIT.gate;
}

export async function impactCommand(argv: { id: string; json?: boolean; config?: string }): Promise<void> {
  const { git, root } = await openRepo(argv.config);
  const { checkHistory } = await import('../gates/poison.js');
  const { knownEnvironments } = await import('../inventory/load.js');
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const { releaseRecords } = await import('../journal/releases.js');
  const all = await records(git);
  const record = await recordOrFail(all, argv.id);
  const verdicts = new Map<string, boolean>();
  const affected: { env: string; node: string; release: string; version?: string; commit: string }[] = [];
  const unreachable: { env: string; node: string }[] = [];
  for (const env of knownEnvironments(root)) {
    const run = await openRun({ env, config: argv.config, command: 'impact', quiet: true, runLog: false });
    const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
    try {
      for (const node of seen.nodes) {
        if (seen.unreachable.has(node.name)) {
          unreachable.push({ env, node: node.name });
          continue;
        }
        const s = state(seen.ctx, node);
        const current = s.current ? releaseRecords(s.events).get(s.current) : undefined;
        if (!current?.commit) continue;
        if (!verdicts.has(current.commit)) {
          const known = await git.resolve(current.commit);
          const findings = known ? await checkHistory(git, current.commit, [record]) : [];
          verdicts.set(current.commit, findings.some((f) => !f.curedBy));
        }
        if (verdicts.get(current.commit)) affected.push({ env, node: node.name, release: s.current!, version: current.version, commit: current.commit });
      }
    } finally {
      await seen.close();
      await run.close();
    }
  }
  if (argv.json) {
    process.stdout.write(JSON.stringify({ id: record.id, poison: record.commit, affected, unreachable }, null, 2) + '\n');
  } else {
    process.stdout.write(`${record.id} (${record.comment}): ${affected.length ? `${affected.length} node(s) run it without the fix` : 'no node runs it without the fix'}\n`);
    for (const a of affected) process.stdout.write(`  ${a.env.padEnd(6)} ${a.node.padEnd(10)} ${a.version ?? '?'}  ${a.release}\n`);
  }
  for (const u of unreachable) process.stderr.write(`warning: ${u.env}/${u.node} unreachable: not checked\n`);
  if (unreachable.length) process.exitCode = 1;
}
