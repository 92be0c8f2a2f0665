// The template variables of an analysis query (config `analysis.queries[].query`): the nodes it measures
// (the canary, or the baseline: the nodes still on the release before), what they run, and both sets.
import type { ResolvedConfig } from '../config/types.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import { renderTemplate, type TemplateScope } from './render.js';

/** What a set of nodes runs, for `{{ release }}` and `{{ version }}`. */
export interface SetRuns {
  readonly release: string;
  readonly version: string;
}

/** The two sets an analysis compares. */
export interface AnalysisSets {
  readonly canary: readonly NodeSpec[];
  readonly baseline: readonly NodeSpec[];
}

/** Characters a regular expression reads as syntax, each written as a class of itself (`[.]`). */
const SYNTAX = /[.*+?()|{}$[]/g;

/**
 * Names or addresses as a regular expression alternation for a PromQL label matcher (`node1|web[.]3`); an
 * empty set matches no label value relink gives a node (`relink:none`).
 */
export function alternation(values: readonly string[]): string {
  if (values.length === 0) return 'relink:none';
  return values.map((v) => v.replace(SYNTAX, (c) => `[${c}]`)).join('|');
}

const set = (nodes: readonly NodeSpec[]) => ({
  names: alternation(nodes.map((n) => n.name)),
  addresses: alternation(nodes.map((n) => n.address)),
  count: nodes.length,
});

/** The variables of a query measuring `measured` (one of the two sets), which runs `runs`. */
export function analysisScope(
  config: ResolvedConfig,
  inventory: Inventory,
  sets: AnalysisSets,
  measured: 'canary' | 'baseline',
  runs: SetRuns,
): TemplateScope {
  const nodes = sets[measured];
  const first = nodes[0];
  return {
    project: config.project,
    env: config.env,
    release: runs.release,
    version: runs.version,
    nodes: set(nodes),
    ...(first ? { node: { name: first.name, address: first.address } } : {}),
    canary: set(sets.canary),
    baseline: set(sets.baseline),
    vars: { ...config.vars, ...inventory.vars },
  };
}

/** A query rendered for one set; an unknown variable is an error naming the query. */
export function renderQuery(query: { name: string; query: string }, scope: TemplateScope): string {
  return renderTemplate(query.query, scope, `analysis query "${query.name}"`);
}
