import { filterNodes, rolloutGroups } from '../../inventory/groups.js';
import type { NodeSpec } from '../../inventory/types.js';
import type { Finding } from '../../gates/poison.js';
import { releaseName } from '../../remote/release-name.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { RunContext, VersionInfo } from '../context.js';
import type { ResolvedConfig } from '../../config/types.js';
import type { Inventory } from '../../inventory/types.js';
import { renderAll } from '../distribution/distribute.js';
import { buildNode } from './build-on.js';
import type { Source } from '../shared/source.js';

/** What the plan phase reads of a deploy's request. */
export interface PrepareRequest {
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  readonly version: string;
  readonly runId: string;
  readonly user: string;
  readonly nodes?: readonly string[];
  readonly secrets: Readonly<Record<string, string>>;
}

export interface Prepared {
  readonly nodes: NodeSpec[];
  readonly groups: NodeSpec[][];
  readonly facts: ReleaseFacts;
  readonly version: VersionInfo;
  readonly findings: Finding[];
}

/** The plan phase: resolve the version, name the release, group the nodes, render templates, read the gate. */
export async function prepare(ctx: RunContext, req: PrepareRequest, source: Source): Promise<Prepared> {
  const { config, inventory } = req;
  const { reporter } = ctx.deps;
  const nodes = filterNodes(inventory.hosts, req.nodes);
  buildNode(ctx);
  const detail = `${req.version} to ${nodes.length} node(s)`;
  reporter.emit({ type: 'run', runId: req.runId, env: config.env, command: 'deploy', detail });
  reporter.emit({ type: 'phase', phase: 'plan' });
  const version = await source.resolve(req.version);
  const { project, env } = config;
  const named = {
    project,
    env,
    version: version.version,
    branch: version.branch,
    time: ctx.deps.now(),
    author: req.user,
  };
  const facts: ReleaseFacts = {
    release: releaseName(named),
    version: version.version,
    commit: version.commit,
    branch: version.branch,
  };
  const groups = rolloutGroups(nodes, inventory.pre, inventory.groupSize);
  // Templates are rendered before the run uses any connection: a missing variable changes nothing anywhere.
  renderAll(ctx, nodes, facts, req.secrets);
  const findings = await source.check(version.commit);
  return { nodes, groups, facts, version, findings };
}
