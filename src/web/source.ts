// The dashboard's view of the project, read from the nodes and the repository and kept for a few
// seconds: a page served from the cache says how old it is, and a read never waits behind another.
import semver from 'semver';
import { type BranchPicker, branchPicker } from '../app/branches.js';
import { loadProject } from '../app/compose.js';
import { brokenEnv, readEnv } from '../app/environment.js';
import { type NodeMatches, searchLogs } from '../app/logs.js';
import { upcomingReleases } from '../app/announce.js';
import { envWithBugs } from '../app/known-bugs.js';
import { checkRevision, loadRecords, openAt } from '../app/poison.js';
import { knownEnvironments } from '../app/project.js';
import { type GitMirror, type GitRecords, projectRepo } from '../app/repo.js';
import { errorMessage } from '../errors.js';
import { processRedactor } from '../log/redact.js';
import type { FileRuns } from './runs.js';
import type { Actions, CheckJson, EnvView, GateView, ImpactJson, StateSource, UpcomingJson } from './types.js';

/**
 * One value, reloaded when older than `ttlMs`; callers at the same moment share one load. A value up to
 * twice that old is still served while it reloads behind the caller's back (the page says how old it is),
 * so a busy dashboard never makes its viewers wait for the nodes; an older one, or `fresh`, waits.
 */
export class Cached<T> {
  private value: { at: number; v: T } | undefined;
  private pending: Promise<T> | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(fresh = false): Promise<T> {
    const age = this.value ? Date.now() - this.value.at : Number.POSITIVE_INFINITY;
    if (this.value && !fresh && age < this.ttlMs) return Promise.resolve(this.value.v);
    this.pending ??= this.load()
      .then((v) => {
        this.value = { at: Date.now(), v };
        return v;
      })
      .finally(() => {
        this.pending = undefined;
      });
    if (this.value && !fresh && age < 2 * this.ttlMs) {
      // Its failure is the next caller's to see: nobody waits on this one.
      this.pending.catch(() => undefined);
      return Promise.resolve(this.value.v);
    }
    return this.pending;
  }
}

export interface SourceOptions {
  readonly configPath?: string;
  /** How long a read of the nodes is served before they are read again (default 5 s). */
  readonly ttlMs: number;
}

export class NodeSource implements StateSource {
  readonly project: string;
  readonly root: string;
  readonly stateDir: string;
  private readonly envs = new Map<string, Cached<EnvView>>();
  private readonly mirror: GitMirror;
  private readonly git: GitRecords;
  private readonly synced: Cached<{ offline?: string }>;
  private readonly gateView: Cached<GateView>;
  private readonly upcomingView: Cached<UpcomingJson>;

  private constructor(
    repo: Awaited<ReturnType<typeof projectRepo>>,
    private readonly options: SourceOptions,
    readonly runs: FileRuns,
  ) {
    this.project = repo.project;
    this.root = repo.root;
    this.stateDir = repo.stateDir;
    this.mirror = repo.mirror;
    this.git = repo.git;
    // A fetch of the repository at most every 30 s; offline, the refs fetched last.
    this.synced = new Cached(30_000, async () => {
      const result = await this.mirror
        .sync()
        .catch((error: unknown) => ({ offline: true, reason: errorMessage(error) }));
      return result.offline ? { offline: result.reason ?? 'unreachable' } : {};
    });
    this.gateView = new Cached(options.ttlMs, () => this.readGate());
    this.upcomingView = new Cached(options.ttlMs, async () => {
      const { git, offline } = await this.repo();
      const read = await upcomingReleases(git, new Date());
      return offline ? { ...read, offline } : read;
    });
  }

  static async open(
    options: SourceOptions,
    runs: (stateDir: string) => FileRuns,
    actions: (source: NodeSource) => Actions,
  ): Promise<NodeSource> {
    const repo = await projectRepo(options.configPath);
    const made = new NodeSource(repo, options, runs(repo.stateDir));
    made.actions = actions(made);
    return made;
  }

  /** Set once by open(): the actions need the source (to forget what they changed). */
  actions!: Actions;

  environments(): readonly string[] {
    return knownEnvironments(this.root);
  }

  env(name: string, fresh = false): Promise<EnvView> {
    if (!this.environments().includes(name)) return Promise.resolve(brokenEnv(name, 'unknown environment', new Date()));
    let cached = this.envs.get(name);
    if (!cached) {
      cached = new Cached(this.options.ttlMs, () =>
        readEnv(name, this.options.configPath)
          .then(async (view) => envWithBugs(view, (await this.repo()).git))
          .catch((error: unknown) => brokenEnv(name, processRedactor.apply(errorMessage(error)), new Date())),
      );
      this.envs.set(name, cached);
    }
    return cached.get(fresh);
  }

  /** Forgets what was read of an environment (after an action changed it). */
  invalidate(env: string): void {
    this.envs.delete(env);
  }

  gate(fresh = false): Promise<GateView> {
    return this.gateView.get(fresh);
  }

  upcoming(fresh = false): Promise<UpcomingJson> {
    return this.upcomingView.get(fresh);
  }

  async repo(): Promise<{ git: GitRecords; mirror: GitMirror; offline?: string }> {
    const { offline } = await this.synced.get();
    return { git: this.git, mirror: this.mirror, offline };
  }

  async tags(): Promise<string[]> {
    await this.synced.get();
    const tags = await this.mirror.tags().catch(() => [] as string[]);
    const versions = semver.rsort(tags.filter((t) => semver.valid(t)));
    return [...versions, ...tags.filter((t) => !semver.valid(t)).sort()];
  }

  async branches(env: string): Promise<BranchPicker> {
    const { config } = await loadProject(env, this.options.configPath);
    if (config.requireTag) return { allowed: false, branches: [] };
    await this.synced.get();
    return branchPicker(config, this.mirror);
  }

  searchLogs(env: string, needle: string, max: number): Promise<NodeMatches[]> {
    return searchLogs({ env, config: this.options.configPath, author: 'web', needle, max });
  }

  async check(rev: string): Promise<CheckJson> {
    const { git } = await this.repo();
    return (await checkRevision(git, rev, async () => (await loadRecords(git)).records)).body;
  }

  private async readGate(): Promise<GateView> {
    const { git, offline } = await this.repo();
    const readAt = new Date().toISOString();
    const { records, malformed } = await loadRecords(git);
    const views = await Promise.all(this.environments().map((env) => this.env(env)));
    type Hit = ImpactJson['affected'][number];
    const affected = new Map<string, Hit[]>(records.map((r) => [r.id, []]));
    const unreachable: { env: string; node: string }[] = [];
    const verdicts = new Map<string, string[]>();
    for (const view of views) {
      for (const row of view.status.nodes) {
        if (!row.reachable) unreachable.push({ env: view.env, node: row.node });
        if (!row.reachable || !row.commit || !row.current) continue;
        for (const id of await openAt(git, row.commit, records, verdicts)) {
          const hit = { env: view.env, node: row.node, release: row.current, version: row.version, commit: row.commit };
          affected.get(id)?.push(hit);
        }
      }
    }
    const impact = records.map((r) => ({ id: r.id, poison: r.commit, affected: affected.get(r.id)!, unreachable }));
    return { readAt, offline, records, malformed, impact };
  }
}
