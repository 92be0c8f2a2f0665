import path from 'node:path';
import type { NamedEntry, NodeChild } from '../app/schedule.js';
import { UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {
  list: { type: 'boolean', describe: 'print the next fire times and the version each would take' },
  crontab: { type: 'boolean', describe: 'print lines for the system cron instead of running' },
  'run-once': { type: 'string', describe: 'resolve and deploy one schedule entry now' },
  'announce-due': {
    type: 'boolean',
    describe: 'announce the due releases of the entries with `announce`, once each (what --crontab runs)',
  },
} as const satisfies OptionSet;

export const command = verb({
  command: 'schedule',
  describe: 'run the configured release schedules in the foreground (or --list, --crontab, --run-once <name>)',
  builder: (y) => y.options(options),
  handler: (argv) => scheduleCommand(argv),
});

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} schedule: ${message}\n`);
}

type Schedules = typeof import('../app/schedule.js');

function logAnnounced(o: { entry: string; at: Date; id?: string; skip?: string }): void {
  log(`${o.entry}: the release at ${o.at.toISOString()} ${o.id ? `announced ${o.id}` : `not announced: ${o.skip}`}`);
}

async function fire(
  app: Schedules,
  entry: NamedEntry,
  configPath: string | undefined,
  children: Set<NodeChild>,
): Promise<number> {
  const resolved = await app.resolveEntry(entry, configPath);
  if (!resolved.version) {
    log(`${entry.name}: skipped: ${resolved.skip}`);
    return 0;
  }
  log(`${entry.name}: deploying ${resolved.version} to ${entry.env}`);
  const code = await app.runDeploy(entry, resolved.version, configPath, children);
  const outcome = code === 0 ? 'succeeded' : `ended with exit code ${code}`;
  log(`${entry.name}: deploy ${entry.env} ${resolved.version} ${outcome}`);
  return code;
}

export async function scheduleCommand(argv: {
  list?: boolean;
  crontab?: boolean;
  runOnce?: string;
  announceDue?: boolean;
  config?: string;
}): Promise<void> {
  const app = await import('../app/schedule.js');
  const { Cron } = await import('croner');
  const { file, root, entries, tzOf } = await app.scheduleEntries(argv.config);
  const example = "schedule: [{ env: 'prod', cron: '0 17 * * 2,4', version: 'latest' }]";
  if (entries.length === 0 && argv.list) {
    // An empty listing is an answer, not an error.
    process.stdout.write(`no schedules in ${path.basename(file)} (add one: ${example})\n`);
    return;
  }
  if (entries.length === 0) throw new UsageError('no schedule in deploy.config.ts', { hint: `add ${example}` });
  const children = new Set<NodeChild>();

  if (argv.runOnce) {
    const entry = entries.find((e) => e.name === argv.runOnce);
    if (!entry) {
      const hint = `entries: ${entries.map((e) => e.name).join(', ')}`;
      throw new UsageError(`no schedule entry "${argv.runOnce}"`, { hint });
    }
    process.exitCode = await fire(app, entry, argv.config, children);
    return;
  }
  if (argv.announceDue) {
    const { announceDue } = await import('../app/schedule-announce.js');
    for (const o of await announceDue(entries, tzOf, argv.config, new Set())) logAnnounced(o);
    return;
  }
  if (argv.crontab) {
    for (const e of entries) process.stdout.write(app.crontabLines(e, tzOf(e), root));
    if (entries.some((e) => e.announce)) process.stdout.write(app.announceCrontabLine(root));
    return;
  }
  if (argv.list) {
    const rows: string[][] = [];
    for (const e of entries) {
      const cron = new Cron(e.cron, { timezone: tzOf(e), paused: true });
      const next = cron.nextRuns(3).map((d) => d.toISOString().replace('.000Z', 'Z'));
      const resolved = await app
        .resolveEntry(e, argv.config)
        .catch((error: Error) => ({ skip: error.message.split('\n')[0] }) as { version?: string; skip?: string });
      const takes = resolved.version ?? `nothing (${resolved.skip})`;
      rows.push([e.name, e.env, `${e.cron} (${tzOf(e)})`, `next: ${next.join(', ')}`, `would take: ${takes}`]);
    }
    const { table } = await import('../log/listing.js');
    process.stdout.write(`${table(rows).join('\n')}\n`);
    return;
  }

  // Foreground: one job per entry; never two releases at once.
  let busy: Promise<unknown> | undefined;
  const jobs = entries.map(
    (e) =>
      new Cron(e.cron, { timezone: tzOf(e), protect: true }, async () => {
        if (busy) {
          log(`${e.name}: skipped: a release is still running`);
          return;
        }
        busy = fire(app, e, argv.config, children).catch((error: Error) =>
          log(`${e.name}: failed: ${error.message.split('\n')[0]}`),
        );
        await busy;
        busy = undefined;
      }),
  );
  for (const [i, job] of jobs.entries()) {
    const e = entries[i]!;
    const ahead = e.announce ? `, announced ${e.announce} ahead` : '';
    log(`${e.name}: ${e.env} ${e.version} at "${e.cron}" (${tzOf(e)}), next ${job.nextRun()?.toISOString()}${ahead}`);
  }
  const announcing = entries.some((e) => e.announce) ? await announceLoop(entries, tzOf, argv.config) : undefined;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      const running = children.size ? '; the running one is asked to stop and undo itself' : '';
      log(`${signal}: no new releases will start${running}`);
      for (const job of jobs) job.stop();
      announcing?.stop();
      for (const child of children) child.kill('SIGTERM');
      void Promise.resolve(busy).then(() => resolve());
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log('stopped');
}

/** The announcements of the entries with `announce`: checked now and every minute, each made once. */
async function announceLoop(
  entries: readonly NamedEntry[],
  tzOf: (e: NamedEntry) => string,
  configPath: string | undefined,
): Promise<{ stop(): void }> {
  const { announceDue } = await import('../app/schedule-announce.js');
  const done = new Set<string>();
  let busy = false;
  const check = () => {
    if (busy) return;
    busy = true;
    void announceDue(entries, tzOf, configPath, done)
      .then((outcomes) => {
        for (const o of outcomes) logAnnounced(o);
      })
      .catch((error: Error) => log(`announcing failed: ${error.message.split('\n')[0]}`))
      .finally(() => {
        busy = false;
      });
  };
  check();
  const timer = setInterval(check, 60_000);
  return { stop: () => clearInterval(timer) };
}
