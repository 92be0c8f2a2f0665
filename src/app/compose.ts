/**
 * The composition root, of the operations and so of both doors. openRun() wires a run together: the
 * transports (ssh to the nodes, the local git mirror, http probes), the reporters (console, or warnings
 * only for quiet commands; all redacted), the run log, signal handling, and the pipeline's Source
 * (resolve, build, inspect, poison check, log). The pipeline takes all of this as arguments (RunDeps,
 * Source) and constructs none of it; the operations in src/app/ get it here, the doors never.
 */
import crypto from 'node:crypto';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { findConfigFile, loadUserConfig, resolveConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { loadInventory } from '../inventory/load.js';
import type { Inventory } from '../inventory/types.js';
import type { Reporter, RunEvent } from '../log/events.js';
import { processRedactor } from '../log/redact.js';
import { consoleReporter } from '../log/live.js';
import { Broadcast } from '../log/reporter.js';
import { openRunLog } from '../log/run-log.js';
import { buildArtifact, inspectArtifact } from '../pipeline/phases/build.js';
import type { RunDeps } from '../pipeline/context.js';
import { stamp } from '../remote/release-name.js';
import type { Source } from '../pipeline/shared/source.js';
import { learnSecrets, loadSecrets } from '../config/secrets.js';
import { resolveVersion } from './version.js';
import { checkHistory, loadRecords } from '../gates/poison.js';
import { GitRecords } from '../transport/git.js';
import { SshTransport } from '../transport/ssh.js';
import { MeteredTransport } from '../transport/metered.js';
import { WarmTransport } from '../transport/warm.js';
import { runDeps, silent, whoAmI } from './deps.js';
import { type GitMirror, openMirror } from './repo.js';
import { phrase } from './phrase.js';
import { nextStep, said } from '../next.js';

export interface OpenRunOptions {
  readonly env: string;
  readonly config?: string;
  readonly author?: string;
  readonly onFailure?: 'rollback' | 'halt';
  readonly command: string;
  /** No console output (for --json); the run log is still written. */
  readonly quiet?: boolean;
  /** Read-only commands (status, releases, logs) keep no run log. */
  readonly runLog?: boolean;
  /**
   * Start connecting to the environment's nodes (these names only, when given) as soon as the
   * inventory is read, while the run loads, fetches and resolves; the run claims the connections.
   */
  readonly warm?: { readonly nodes?: readonly string[] };
  /**
   * What Ctrl-C (or SIGTERM) says the run does: `ending` after the first (`<signal> received: <ending>`),
   * `again` after the second. Default: a run that changes nodes (it ends its step and undoes what it changed).
   */
  readonly onInterrupt?: Interrupting;
}

/** What a run says when it is interrupted: after the first signal, and after the second (`name`: the signal). */
export interface Interrupting {
  readonly ending: string;
  readonly again: (name: string) => string;
}

export interface OpenRun {
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  readonly stateDir: string;
  readonly runId: string;
  readonly user: string;
  readonly deps: RunDeps;
  readonly source: Source;
  /** The application repository's mirror (the release gate of a rollback reads its poison records). */
  readonly mirror: GitMirror;
  /** The config file the run was opened with, as given (undefined: found from the working directory). */
  readonly configPath?: string;
  readonly logFile: string;
  secrets(): Record<string, string>;
  close(): Promise<void>;
}

export function newRunId(now: Date): string {
  return `${stamp(now)}-${crypto.randomBytes(3).toString('hex')}`;
}

export async function loadProject(
  env: string,
  configPath?: string,
): Promise<{ config: ResolvedConfig; inventory: Inventory; stateDir: string }> {
  const file = findConfigFile(process.cwd(), configPath);
  const user = await loadUserConfig(file);
  const inventory = await loadInventory(path.dirname(file), env);
  const config = resolveConfig(user, env, file);
  return { config, inventory, stateDir: path.join(config.root, '.relink') };
}

/**
 * SIGINT/SIGTERM abort the run's signal: the pipeline finishes or undoes the
 * step it is in, rolls back switched nodes and releases its locks. A second
 * signal says so again; a third exits at once (and may leave a lock).
 */
const MAY_REMAIN = said`a lock may remain: ${nextStep('unlock', undefined, { force: true })}`;

/** What the signals say of a run that changes nodes. */
const UNDOING: Interrupting = {
  ending:
    'ending the step under way, then undoing what this run changed and releasing its locks (a rollback ' +
    'finishes what it started: each of its steps has a deadline)',
  again: (name) => phrase(said`still cleaning up; send ${name} once more to exit at once (${MAY_REMAIN})`),
};

function trapSignals(reporter: Reporter, says = UNDOING): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  // Every command under way on a node listens (and stops listening when it ends): a 100-node run has hundreds
  // at once. Leaks are a pipeline test's business (test/pipeline/deploy.test.ts), not a warning on stderr.
  setMaxListeners(0, controller.signal);
  let count = 0;
  const onSignal = (name: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      reporter.emit({ type: 'warn', message: `${name} received: ${says.ending}` });
      controller.abort(name);
    } else if (count === 2) {
      reporter.emit({ type: 'warn', message: says.again(name) });
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function openRun(options: OpenRunOptions): Promise<OpenRun> {
  const { config: loaded, inventory, stateDir } = await loadProject(options.env, options.config);
  const config: ResolvedConfig = options.onFailure
    ? { ...loaded, rollout: { ...loaded.rollout, onFailure: options.onFailure } }
    : loaded;
  // Metered: the run reports how many bytes it sent from this machine (fan-out modes are compared by it).
  const transport = new WarmTransport(new MeteredTransport(new SshTransport(config.ssh)));
  // Not with host keys unverified: a login goes nowhere before the run has warned about that.
  if (options.warm && config.ssh.strictHostKeys) {
    const names = options.warm.nodes;
    transport.warm(inventory.hosts.filter((h) => !names?.length || names.includes(h.name)));
  }
  try {
    return await assemble(options, { config, inventory, stateDir }, transport);
  } catch (error) {
    await transport.close();
    throw error;
  }
}

/** The rest of a run's wiring, around its transport. */
async function assemble(
  options: OpenRunOptions,
  { config, inventory, stateDir }: { config: ResolvedConfig; inventory: Inventory; stateDir: string },
  transport: WarmTransport,
): Promise<OpenRun> {
  // The process's one redactor: what it learns here also guards the error printed at exit.
  const redactor = processRedactor;
  learnSecrets(config, process.env, redactor);
  const user = await whoAmI(options.author);
  const runId = newRunId(new Date());
  // Quiet commands print their own output; warnings still go to stderr.
  const warnings: Reporter = {
    emit: (e: RunEvent) => {
      if (e.type === 'warn') {
        process.stderr.write(`${redactor.apply(`warning: ${e.node ? `${e.node}: ` : ''}${e.message}`)}\n`);
      }
    },
    close: () => undefined,
  };
  const log =
    options.runLog === false
      ? { reporter: silent, file: '' }
      : await openRunLog(path.join(stateDir, 'logs'), runId, config.env, redactor);
  const reporter = new Broadcast([options.quiet ? warnings : await consoleReporter(redactor), log.reporter]);
  if (!config.ssh.strictHostKeys) {
    reporter.emit({
      type: 'warn',
      message: 'ssh.strictHostKeys is off: host keys are NOT verified for this environment',
    });
  }
  const signals = trapSignals(reporter, options.onInterrupt);
  const mirror = openMirror(stateDir, config.repo);
  let synced = false;
  const sync = async () => {
    if (synced) return;
    synced = true;
    const result = await mirror.sync();
    if (result.offline) {
      const why = result.reason ?? 'unreachable';
      reporter.emit({ type: 'warn', message: `cannot fetch ${config.repo} (${why}); using the tags fetched last` });
    }
  };
  const source: Source = {
    async resolve(requested) {
      await sync();
      return resolveVersion(mirror, requested, config.env, config.requireTag);
    },
    build: (version, signal, host) =>
      buildArtifact(config, stateDir, mirror, version, reporter, signal ?? signals.signal, host),
    inspect: (artifact) => inspectArtifact(artifact),
    async check(commit) {
      await sync();
      const git = new GitRecords(mirror);
      const { records, malformed } = await loadRecords(git);
      for (const file of malformed) {
        reporter.emit({ type: 'warn', message: `skipped a malformed poison record: ${file}` });
      }
      return checkHistory(git, commit, records);
    },
    log: (from, to) => mirror.commitsBetween(from, to),
  };
  const deps = runDeps({ transport, reporter, redactor, signal: signals.signal });
  return {
    config,
    inventory,
    stateDir,
    runId,
    user,
    deps,
    source,
    mirror,
    configPath: options.config,
    logFile: log.file,
    secrets: () => loadSecrets(config, process.env, redactor),
    async close() {
      await transport.close();
      signals.dispose();
      reporter.close();
    },
  };
}
