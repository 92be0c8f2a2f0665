import { RELEASE_SETTINGS_FILE } from '../../remote/release-settings.js';
import type { FANOUT_MODES } from '../../config/schema-fanout.js';
import type { NodeSpec } from '../../inventory/types.js';
import { releaseRecords } from '../../journal/releases.js';
import { state, type RunContext, type VersionInfo } from '../context.js';
import type { Source } from '../shared/source.js';
import { templateScope, type ReleaseFacts } from '../../template/scope.js';
import { open, type Finding } from '../../gates/poison.js';
import { describeWindow, windowState } from '../../gates/window.js';
import { behindLb } from '../rollout/drain.js';
import { renderTemplate } from '../../template/render.js';
import { planDistribute } from '../distribution/plan.js';
import { buildSteps } from './build-on.js';
import { sharedSteps } from './shared-check.js';
import { serviceDetail } from '../../remote/service.js';
import { DEPLOY_HOOKS, scheduleHooks } from '../rollout/hooks.js';
import { type AnalysisPlan, formatAnalysis, planAnalysis } from '../rollout/analysis-plan.js';

export interface PlannedNode {
  readonly node: string;
  readonly group: number;
  readonly pre: boolean;
  readonly current?: string;
  readonly currentVersion?: string;
  readonly steps: readonly { readonly step: string; readonly detail: string }[];
}

export interface Plan {
  readonly env: string;
  readonly version: string;
  readonly commit: string;
  readonly branch: string;
  readonly subject: string;
  readonly release: string;
  readonly commits: readonly { sha: string; subject: string }[];
  /** Known bugs this release fixes since what runs now (cured inside the range). */
  readonly bugfixes: readonly { id: string; comment: string; ticket?: string }[];
  /** Known bugs in this release without their fix: the gate refuses unless each is allowed. */
  readonly openPoisons: readonly { id: string; commit: string; comment: string; ticket?: string; who: string }[];
  /** Where now stands against the release windows. */
  readonly window: string;
  /** How the release gets to the nodes (rollout.fanout.mode), and the steps of that on this machine. */
  readonly distribute: {
    readonly mode: (typeof FANOUT_MODES)[number];
    readonly detail: string;
    readonly steps: readonly { step: string; detail: string }[];
  };
  readonly nodes: readonly PlannedNode[];
  /** Every hook the deploy runs, in order, and where (no nodes: the deploy machine); onFailure: if it fails. */
  readonly hooks: readonly {
    readonly point: string;
    readonly name: string;
    readonly on: readonly string[];
    readonly command: string;
  }[];
  /** Config `analysis`: where the rollout holds for it and what it measures. */
  readonly analysis?: AnalysisPlan;
}

/** Every step of a deploy, per node, in the order the run would take them. */
export async function describePlan(
  ctx: RunContext,
  groups: readonly NodeSpec[][],
  facts: ReleaseFacts,
  version: VersionInfo,
  source: Source,
  findings: readonly Finding[],
  adopt = false,
): Promise<Plan> {
  const { config } = ctx;
  const nodes: PlannedNode[] = [];
  const fromCommits = new Set<string>();
  // The fan-out (a relay's tree) follows the inventory's order, as distribute does.
  const planned = new Set(groups.flat().map((n) => n.name));
  // The same decision as the run's: which hooks run, and where.
  const hooks = DEPLOY_HOOKS.flatMap((point) => scheduleHooks(ctx, point, groups.flat()));
  const hookSteps = (node: NodeSpec, phase: string, ...points: string[]) =>
    hooks
      .filter((h) => points.includes(h.point) && h.nodes?.includes(node))
      .map((h) => ({ step: `${phase}:${h.hook.name}`, detail: h.hook.command }));
  const fanout = planDistribute(
    ctx,
    ctx.inventory.hosts.filter((h) => planned.has(h.name)),
    facts,
  );
  groups.forEach((group, index) => {
    for (const node of group) {
      const s = state(ctx, node);
      const current = s.current ? releaseRecords(s.events).get(s.current) : undefined;
      if (current?.commit) fromCommits.add(current.commit);
      // The same conditions the run applies: only a node the load balancer sees serving is drained.
      const lb = ctx.lb.kind !== 'none' && behindLb(ctx, [node]).length > 0 && s.lb?.admin === 'ready' && s.lb.up;
      const vouch = ctx.lb.kind !== 'none' && behindLb(ctx, [node]).length > 0 && uses(ctx, 'vouch');
      const scope = templateScope(config, ctx.inventory, node, facts);
      const steps = [
        { step: 'gates:lock', detail: `mkdir ${ctx.layout.lock}` },
        ...sharedSteps(ctx, node.name, adopt),
        ...fanout.node(node),
        { step: 'distribute:shared', detail: [...config.shared.dirs, ...config.shared.files].join(', ') || '(none)' },
        ...(config.templates.length
          ? [{ step: 'distribute:templates', detail: config.templates.map((t) => t.dest).join(', ') }]
          : []),
        {
          step: 'distribute:settings',
          detail: `${RELEASE_SETTINGS_FILE}: restart, stop, smoke, shared, service, node hooks`,
        },
        ...hookSteps(node, 'hook', 'afterDistribute', 'beforeSwitch'),
        ...(lb ? [{ step: 'rollout:drain', detail: `${ctx.lb.kind}: out of the pool` }] : []),
        ...(lb ? [{ step: 'rollout:drained', detail: 'wait until nothing is in flight' }] : []),
        { step: 'rollout:relink', detail: `current -> releases/${facts.release}` },
        ...(config.service
          ? [{ step: 'rollout:restart', detail: serviceDetail(config.service) }]
          : config.restart
            ? [{ step: 'rollout:restart', detail: config.restart.command }]
            : []),
        ...hookSteps(node, 'rollout', 'afterSwitch'),
        ...(config.smoke
          ? [
              {
                step: 'rollout:smoke',
                detail: config.smoke.url
                  ? `GET ${renderTemplate(config.smoke.url, scope, 'smoke.url')}`
                  : `on the node: ${config.smoke.command}`,
              },
            ]
          : []),
        ...(lb ? [{ step: 'rollout:undrain', detail: `${ctx.lb.kind}: back into the pool` }] : []),
        ...(vouch && config.smoke
          ? [{ step: 'rollout:vouch', detail: `${ctx.lb.kind}: healthy now (trustSmoke)` }]
          : []),
        ...(lb ? [{ step: 'rollout:serving', detail: `${ctx.lb.kind}: wait until it reports the node serving` }] : []),
        ...hookSteps(node, 'hook', 'afterRollout'),
        { step: 'finish:cleanup', detail: `keep ${config.keepReleases} good releases` },
      ];
      nodes.push({
        node: node.name,
        group: index + 1,
        pre: node.name === ctx.inventory.pre,
        current: s.current,
        currentVersion: current?.version,
        steps,
      });
    }
  });
  const from = fromCommits.size === 1 ? [...fromCommits][0] : undefined;
  const commits = await source.log(from, version.commit);
  // What runs now may be a commit this clone never saw (history rewritten, another clone's build): then
  // nothing is known of its bugs, which must not stop the release.
  const known = from ? await source.check(from).catch(() => []) : [];
  const before = new Set(open(known).map((f) => f.record.id));
  const bugfixes = findings
    .filter((f) => f.curedBy && before.has(f.record.id))
    .map((f) => ({ id: f.record.id, comment: f.record.comment, ticket: f.record.ticket }));
  const openPoisons = open(findings).map((f) => ({
    id: f.record.id,
    commit: f.record.commit,
    comment: f.record.comment,
    ticket: f.record.ticket,
    who: f.record.who,
  }));
  const window = describeWindow(
    config.windows.length ? windowState(config.windows, config.timezone, ctx.deps.now()) : undefined,
    config.timezone,
  );
  return {
    env: config.env,
    version: version.version,
    commit: version.commit,
    branch: version.branch,
    subject: version.subject,
    release: facts.release,
    commits,
    bugfixes,
    openPoisons,
    window,
    distribute: { mode: config.rollout.fanout.mode, detail: fanout.detail, steps: [...buildSteps(ctx), ...fanout.run] },
    nodes,
    hooks: hooks.map((h) => ({
      point: h.point,
      name: h.hook.name,
      on: h.nodes?.map((n) => n.name) ?? [],
      command: h.hook.command,
    })),
    analysis: planAnalysis(ctx, groups, facts),
  };
}

/** Whether the run's load balancer can be told a node is healthy after relink's smoke test. */
function uses(ctx: RunContext, what: 'vouch'): boolean {
  return what === 'vouch' && Boolean(ctx.inventory.lb?.trustSmoke) && typeof ctx.lb.vouch === 'function';
}

export function formatPlan(plan: Plan): string {
  const openCount = plan.openPoisons.length;
  const openBugs = openCount ? `${openCount} (deploy refuses without --allow-poison)` : 'none';
  const lines = [
    `plan: ${plan.version} to ${plan.env} (${plan.nodes.length} node(s)); nothing has been changed`,
    `  commit   ${plan.commit.slice(0, 12)} ${plan.subject}`,
    `  branch   ${plan.branch}`,
    `  release  ${plan.release}`,
    `  window   ${plan.window}`,
    `  fan-out  ${plan.distribute.mode}: ${plan.distribute.detail}`,
    ...plan.distribute.steps.map((s) => `    ${s.step.padEnd(22)} ${s.detail}`),
    `  commits since what runs now: ${plan.commits.length}`,
    ...plan.commits.slice(0, 20).map((c) => `    ${c.sha.slice(0, 10)} ${c.subject}`),
    ...(plan.commits.length > 20 ? [`    … ${plan.commits.length - 20} more`] : []),
    `  bugfixes since what runs now: ${plan.bugfixes.length ? '' : 'none'}`,
    ...plan.bugfixes.map((b) => `    ${b.id} ${b.comment}${b.ticket ? ` [${b.ticket}]` : ''}`),
    `  known bugs still open in this release: ${openBugs}`,
    ...plan.openPoisons.map(
      (p) =>
        `    ${p.id} poison ${p.commit.slice(0, 12)} ${p.comment}${p.ticket ? ` [${p.ticket}]` : ''} (by ${p.who})`,
    ),
  ];
  lines.push(`  hooks: ${plan.hooks.length ? '' : 'none'}`);
  for (const h of plan.hooks) {
    const where = h.on.length === 0 ? 'this machine' : h.on.length === 1 ? h.on[0] : `${h.on.length} nodes`;
    const when = h.point === 'onFailure' ? ' (if the deploy fails)' : '';
    lines.push(`    ${h.point.padEnd(15)} ${h.name.padEnd(15)} on ${where}${when}: ${h.command}`);
  }
  lines.push(...formatAnalysis(plan.analysis));
  let group = 0;
  for (const node of plan.nodes) {
    if (node.group !== group) {
      group = node.group;
      lines.push(`group ${group}${node.pre ? ' (pre: a failure here stops the release)' : ''}`);
    }
    const nowVersion = node.currentVersion ? ` (${node.currentVersion})` : '';
    lines.push(`  ${node.node}  now: ${node.current ?? '(nothing deployed)'}${nowVersion}`);
    for (const s of node.steps) lines.push(`    ${s.step.padEnd(22)} ${s.detail}`);
  }
  return lines.join('\n');
}
