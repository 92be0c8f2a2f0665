import { inRelay, type RelayTree } from '../../inventory/relay-tree.js';
import type { NodeSpec } from '../../inventory/types.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { state, type RunContext } from '../context.js';
import { artifactUrl } from './pull.js';
import { authDetail, treeOf } from './relay.js';

export interface PlannedStep {
  readonly step: string;
  readonly detail: string;
}

/** The steps that put the release on the nodes, as distribute runs them in the configured fan-out mode. */
export interface DistributePlan {
  /** In a few words: who sends the release to whom. */
  readonly detail: string;
  /** Steps of the run itself, on this machine (the relay key, the publish). */
  readonly run: readonly PlannedStep[];
  /** The steps on one node, before its shared links and templates. */
  node(node: NodeSpec): readonly PlannedStep[];
}

export function planDistribute(ctx: RunContext, nodes: readonly NodeSpec[], facts: ReleaseFacts): DistributePlan {
  const { fanout } = ctx.config.rollout;
  if (fanout.mode === 'pull') {
    const run = fanout.publish ? [{ step: 'distribute:publish', detail: `on this machine: ${fanout.publish}` }] : [];
    const detail = `every node fetches the tarball from ${fanout.url} and checks its sha256`;
    return { detail, run, node: (node) => pullSteps(ctx, node, facts) };
  }
  if (fanout.mode === 'relay') {
    const tree = treeOf(ctx, nodes);
    const run = tree.parent.size
      ? [{ step: 'distribute:relay-key', detail: 'a new ed25519 key for this run (ssh-keygen on this machine)' }]
      : [];
    const detail =
      `seeds ${fanout.seeds}, width ${fanout.width}: this machine sends it to ${tree.seeds.join(', ')}, ` +
      `then each node that has it to up to ${fanout.width} more, ${tree.depth} level(s) deep`;
    return { detail, run, node: (node) => relaySteps(ctx, node, facts, tree) };
  }
  const detail = 'this machine sends it to every node';
  return { detail, run: [], node: (node) => pushSteps(ctx, facts, Boolean(state(ctx, node).current)) };
}

/** The upload steps of the configured mode, as distribute runs them. */
function pushSteps(ctx: RunContext, facts: ReleaseFacts, warm: boolean): PlannedStep[] {
  const dir = `${ctx.layout.releases}/${facts.release}`;
  if (ctx.config.rollout.upload === 'rsync') {
    const linked = warm ? ' (unchanged files hard-linked against the current release)' : '';
    return [{ step: 'distribute:upload', detail: `rsync into ${dir}${linked}` }];
  }
  return [
    { step: 'distribute:upload', detail: `${ctx.layout.incoming}/${facts.release}.tar.gz` },
    { step: 'distribute:verify', detail: 'sha256 of the upload' },
    { step: 'distribute:unpack', detail: dir },
  ];
}

function relaySteps(ctx: RunContext, node: NodeSpec, facts: ReleaseFacts, tree: RelayTree): PlannedStep[] {
  const parent = tree.parent.get(node.name);
  const kids = tree.children.get(node.name) ?? [];
  const relayed = inRelay(tree, node.name);
  const warm = Boolean(state(ctx, node).current);
  const linked = warm ? ', unchanged files hard-linked against the current release' : '';
  const dir = `${ctx.layout.releases}/${facts.release}`;
  return [
    ...(relayed ? [{ step: 'distribute:relay-auth', detail: authDetail(Boolean(parent), kids) }] : []),
    ...(parent
      ? [{ step: 'distribute:relay', detail: `rsync from ${parent} into ${dir}${linked}` }]
      : pushSteps(ctx, facts, warm)),
    ...(relayed ? [{ step: 'distribute:relay-end', detail: revokeDetail(kids) }] : []),
  ];
}

function pullSteps(ctx: RunContext, node: NodeSpec, facts: ReleaseFacts): PlannedStep[] {
  // The URL as the node gets it; the sha256 is known once the build is done.
  const url = artifactUrl(ctx, node, facts, '<sha256>');
  return [
    { step: 'distribute:fetch', detail: `GET ${url}` },
    { step: 'distribute:verify', detail: "sha256 of the fetched tarball against the build's" },
    { step: 'distribute:unpack', detail: `${ctx.layout.releases}/${facts.release}` },
  ];
}

function revokeDetail(kids: readonly string[]): string {
  return `remove the run's key${kids.length ? ' (its private half too)' : ''}, once the last copy is done`;
}
