import { count, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  n: count('-n', 'rows', 20),
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'history <env>',
  describe: 'one row per run, from the nodes: when, who, command, version, result, duration, nodes',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => historyCommand(argv),
});

/** A merged branch as a history note names it: `feat-a 1a2b3c4d5e6f`. */
const branchAt = (b: { name: string; commit: string }) => `${b.name} ${b.commit.slice(0, 12)}`;

export async function historyCommand(argv: { env: string; n: number; json?: boolean; config?: string }): Promise<void> {
  const { history, isDefaultReason } = await import('../app/history.js');
  const { printable, seconds, table } = await import('../log/listing.js');
  const warn = (node: string, why: string) =>
    process.stderr.write(`warning: ${argv.env}/${node} unreachable, its journal is not counted: ${printable(why)}\n`);
  const runs = (await history(argv.env, argv.config, warn)).slice(0, Math.max(0, argv.n));
  if (argv.json) {
    const { historyJson, printJson } = await import('../app/shapes.js');
    printJson(historyJson, { env: argv.env, runs });
    return;
  }
  if (runs.length === 0) {
    process.stdout.write(`no runs recorded on the nodes of ${argv.env}\n`);
    return;
  }
  // What --json has beyond the columns: an emergency, the known bugs allowed, a reason (a failure's error).
  const notes = (r: (typeof runs)[number]) =>
    [
      r.kind === 'deploy' && r.emergency ? 'emergency release outside the windows' : '',
      r.allowedPoisons?.length ? `released with known bugs allowed: ${r.allowedPoisons.join(', ')}` : '',
      r.landedOnPoisons?.length ? `landed on known bugs: ${r.landedOnPoisons.join(', ')}` : '',
      r.approver ? `requested by ${r.requester}, approved by ${r.approver}` : '',
      r.review ? `emergency past the approvals: review ${r.review}` : '',
      r.reason && !isDefaultReason(r.reason) ? `reason: ${r.reason}` : '',
      r.merged ? `merged onto ${r.merged.base.name}: ${r.merged.branches.map(branchAt).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  const rows = runs.map((r) => [
    r.ts.replace('T', ' ').slice(0, 19),
    r.user,
    r.command,
    r.version ?? '-',
    r.result,
    seconds(r.ms),
    r.nodes.length,
    r.run,
    notes(r),
  ]);
  const header = ['finished (UTC)', 'who', 'command', 'version', 'result', 'took', 'nodes', 'run', ''];
  const align = ['left', 'left', 'left', 'left', 'left', 'right', 'right'] as const;
  process.stdout.write(`${table([header, ...rows], { align }).join('\n')}\n`);
}
