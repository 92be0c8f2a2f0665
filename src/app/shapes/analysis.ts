// `deploy analyze <env> --json` (the queries of config `analysis` against the fleet as it is) and the analysis
// part of `deploy plan --json`.
import { z } from 'zod';
import { d, opt, str } from './common.js';

const value = z.number().nullable();

/** One query judged once (what `deploy analyze` shows, and the journal's `analysis` entries hold). */
export const queryVerdict = z.strictObject({
  query: d(str, 'its name (config `analysis.queries[].name`)'),
  canary: d(value, "the canary's value, the worst of its series; null: no data"),
  baseline: opt(value, "the baseline's value; null: no data; absent: no comparison"),
  condition: opt(str, 'the absolute bound, `< 0.01`'),
  allowed: opt(z.number(), 'with a baseline comparison: the most the canary may be (`baseline * maxRatio + margin`)'),
  ok: d(z.boolean(), 'whether it met every bound'),
  why: opt(str, 'why it failed (or passed without data)'),
});

/** The alerts check (config `analysis.alerts`): where the alerts are read, and the matchers as they go out. */
const alertsSource = {
  source: z.enum(['alertmanager', 'prometheus']),
  url: d(str, "the source's base URL"),
  matchers: d(z.array(str), 'each as it goes out: `severity="critical"`, template variables filled in for the canary'),
};

/** The alerts check judged once: the matching alerts that fire, or why the source could not say. */
export const alertsVerdict = z.strictObject({
  ...alertsSource,
  ok: d(z.boolean(), 'no matching alert fires, and the source answered'),
  count: d(z.number().nullable(), 'how many matching alerts fire; null: the source did not answer'),
  firing: d(
    z.array(z.strictObject({ alertname: str, labels: d(z.record(str, str), 'the labels the matchers name') })),
    'the first of them (printable text, capped)',
  ),
  why: opt(str, 'why it failed: the alerts, or the reason the source did not answer'),
});

const nodeSet = z.strictObject({
  nodes: z.array(str),
  release: d(str, 'what most of them run (`unknown` when none could be read)'),
  version: str,
});

export const analyzeJson = z.strictObject({
  env: str,
  ok: d(z.boolean(), 'every query met its bounds (exit 0; else exit 1)'),
  canary: d(nodeSet, 'the pre node when it takes traffic, else the first group'),
  baseline: d(nodeSet, 'the other nodes in the pool'),
  queries: z.array(
    queryVerdict.extend({
      promql: d(str, 'the query as sent for the canary (its template variables filled in)'),
      baselinePromql: opt(str, 'the same for the baseline, when it is compared'),
    }),
  ),
  alerts: opt(alertsVerdict, 'config `analysis.alerts`: the firing alerts that match'),
});

/** The analysis part of a deploy's plan. */
export const planAnalysis = z.strictObject({
  prometheus: d(str, "the server's URL"),
  intervalMs: z.number(),
  count: z.number(),
  failureLimit: z.number(),
  noData: z.enum(['fail', 'pass']),
  stages: d(
    z.array(z.strictObject({ afterGroup: d(z.number(), 'as the plan numbers groups'), canary: z.array(str) })),
    'where the rollout holds for the analysis; the first is the canary',
  ),
  steps: opt(
    z.array(
      z.strictObject({
        percent: d(z.number(), 'the share asked (config `analysis.steps`)'),
        canaryWeight: d(z.number(), "each canary server's weight in the load balancer during the step"),
        othersWeight: d(z.number(), "each other server's weight"),
        share: d(z.number(), 'the share of requests in percent those weights give the canary'),
      }),
    ),
    "the canary's traffic steps, counted over the nodes behind the load balancer",
  ),
  queries: z.array(
    z.strictObject({
      name: str,
      condition: opt(str, '`< 0.01`'),
      baseline: opt(str, 'the baseline comparison: `<= baseline * 1.5 + 0`'),
      promql: d(str, 'the query as it goes out for the canary of the first stage'),
    }),
  ),
  alerts: opt(z.strictObject(alertsSource), 'config `analysis.alerts`: no matching alert may fire'),
});
