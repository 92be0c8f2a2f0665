// The `analysis` part of the config schema (schema.ts): a release judged by its metrics in Prometheus after
// the canary is switched (docs/analysis.md), with each field's description, default and example.
import { z } from 'zod';
import { parseCondition } from './condition.js';
import { alertsSchema } from './schema-alerts.js';
import { doc, envVar, parsed } from './schema-parts.js';

const positiveInt = z.number().int().positive();

const prometheusSchema = z.strictObject({
  url: doc(
    z.url({ protocol: /^https?$/ }),
    "The Prometheus server's base URL; its HTTP API (`/api/v1/query`) is asked from the deploy machine. " +
      'HTTPS certificates are verified.',
    'https://prometheus.example.com',
  ),
  tokenEnv: doc(
    envVar.optional(),
    'Environment variable holding a bearer token sent with every query (never logged). Default: none.',
    'PROMETHEUS_TOKEN',
  ),
  timeoutMs: doc(positiveInt.default(10_000), 'Time limit of one query in ms.', 5000),
});

const baselineSchema = z.strictObject({
  maxRatio: doc(
    z.number().positive(),
    "The canary's value may be at most this many times the baseline's: the same query over the nodes still " +
      'on the release before (for a value where lower is better: errors, latency).',
    1.5,
  ),
  margin: doc(
    z.number().min(0).default(0),
    'Added to the allowed value, so that a baseline near 0 does not fail the canary on noise: the canary ' +
      'passes at most `baseline * maxRatio + margin`.',
    0.005,
  ),
});

export const analysisQuerySchema = z
  .strictObject({
    name: doc(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"'),
      'Name in the output, the journal and the report.',
      'error-ratio',
    ),
    query: doc(
      z.string().min(1),
      'PromQL instant query with template variables: `{{ nodes.names }}` and `{{ nodes.addresses }}` (the ' +
        'nodes measured, as a regular expression alternation: `node1|node2`), `{{ node.name }}` and ' +
        '`{{ node.address }}` (the first of them), `{{ release }}` and `{{ version }}` (what they run), ' +
        '`{{ canary.names }}`, `{{ baseline.names }}` (and `.addresses`), `{{ env }}`, `{{ project }}`, ' +
        '`{{ vars.* }}`. It should come to one number (use `sum`, `max`, ...); of several series the worst ' +
        'is taken.',
      'sum(rate(http_requests_total{node=~"{{ nodes.names }}",status=~"5.."}[1m])) / ' +
        'sum(rate(http_requests_total{node=~"{{ nodes.names }}"}[1m]))',
    ),
    condition: doc(
      parsed(parseCondition).optional(),
      "A bound the canary's value must meet: `< 0.01`, `<= 0.3`, `> 0.99`. Default: none.",
      '< 0.01',
    ),
    baseline: doc(
      baselineSchema.optional(),
      "A comparison with the baseline's value: the same query, its variables naming the nodes still on the " +
        'release before. Skipped when no such node is left. Default: none.',
      { maxRatio: 1.5 },
    ),
  })
  .refine((q) => q.condition !== undefined || q.baseline !== undefined, 'set "condition", "baseline" or both');

export const analysisSchema = z.strictObject({
  prometheus: doc(prometheusSchema, 'The Prometheus server the queries go to.'),
  queries: doc(
    z
      .array(analysisQuerySchema)
      .min(1)
      .refine((qs) => qs.every((q) => q.name !== 'alerts'), '"alerts" names the alerts check'),
    'What is measured, each with its condition; a measurement fails when any query fails.',
  ),
  alerts: doc(
    alertsSchema.optional(),
    'Alerts as a gate: a firing alert that matches fails the measurement, as a failed query does. Default: none.',
    { source: 'alertmanager', url: 'https://alertmanager.example.com', matchers: { severity: 'critical' } },
  ),
  intervalMs: doc(
    positiveInt.default(60_000),
    'Time between measurements in ms, and before the first (traffic reaches the canary meanwhile).',
    30000,
  ),
  count: doc(
    positiveInt.max(1000).default(5),
    'Measurements per analysis: it takes `count * intervalMs` while the rest of the fleet waits.',
    10,
  ),
  failureLimit: doc(
    z.number().int().min(0).default(0),
    'Failed measurements tolerated; one more fails the analysis at once (the release is rolled back).',
    1,
  ),
  noData: doc(
    z.enum(['fail', 'pass']).default('fail'),
    'What a query without a value (no series, NaN) counts as: a failed measurement, or a passed one.',
    'pass',
  ),
  steps: doc(
    z
      .array(z.number().positive().max(100))
      .default([])
      .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]!), 'each step above the one before'),
    "Traffic steps of the canary's analysis, in percent of the load balancer's traffic: at each the canary's " +
      'weight is set so that it takes that share, then the analysis measures it (`count` measurements). The ' +
      'weights go back as they were after the last step, and on every exit. Needs lb.driver haproxy or nginx. ' +
      "Without steps the canary takes its servers' own share.",
    [5, 25, 50],
  ),
  afterGroups: doc(
    z.array(positiveInt).default([]),
    "Groups (numbered as `deploy plan` shows them) after which the analysis runs again, besides the canary's: " +
      'everything switched so far measured against the nodes not yet switched.',
    [3],
  ),
});
