// What the journals and the poison records say: `deploy history`, `stats`, `plan`, `poison`, `check`, `impact`.
import { z } from 'zod';
import { FANOUT_MODES } from '../../config/schema-fanout.js';
import { planAnalysis } from './analysis.js';
import { d, poisonRecord, runRecord, stats, str } from './common.js';

export const historyJson = z.strictObject({
  env: str,
  runs: d(z.array(runRecord), 'newest first, at most -n'),
});

export const envStatsJson = z.strictObject({ since: d(str, 'the --since window, e.g. `30d`'), ...stats.shape });

export const allStatsJson = z.strictObject({
  since: str,
  total: d(stats, 'over every environment; its fields as in `deploy stats <env> --json`'),
  environments: d(z.record(str, stats), 'environment -> the same fields'),
});

const step = z.strictObject({ step: d(str, '`phase:step`'), detail: str });

export const planJson = z.strictObject({
  env: str,
  version: str,
  commit: str,
  branch: str,
  subject: d(str, "the commit's subject"),
  release: d(str, 'the release directory the deploy would create'),
  commits: d(z.array(z.strictObject({ sha: str, subject: str })), 'since what runs now'),
  bugfixes: d(
    z.array(z.strictObject({ id: str, comment: str, ticket: z.string().optional() })),
    'known bugs this release fixes since what runs now',
  ),
  openPoisons: d(
    z.array(z.strictObject({ id: str, commit: str, comment: str, ticket: z.string().optional(), who: str })),
    'known bugs in this release without their fix: the gate refuses unless each is allowed',
  ),
  window: d(str, 'where now stands against the release windows'),
  distribute: d(
    z.strictObject({
      mode: d(z.enum(FANOUT_MODES), 'rollout.fanout.mode'),
      detail: d(str, 'who sends the release to whom'),
      steps: d(z.array(z.strictObject({ step: str, detail: str })), 'run on this machine (relay key, publish)'),
    }),
    'how the release gets to the nodes',
  ),
  nodes: z.array(
    z.strictObject({
      node: str,
      group: d(z.number(), '0 is the pre group when there is a pre node'),
      pre: z.boolean(),
      current: z.string().optional(),
      currentVersion: z.string().optional(),
      steps: d(z.array(step), 'in the order of the run'),
    }),
  ),
  hooks: d(
    z.array(
      z.strictObject({
        point: d(str, 'the hook point: beforeBuild, afterSwitch, ... (onFailure: only if the deploy fails)'),
        name: str,
        on: d(z.array(str), 'the nodes it runs on; empty: the deploy machine'),
        command: str,
      }),
    ),
    'every hook the deploy runs, in order',
  ),
  analysis: d(planAnalysis.optional(), 'config `analysis`: where the rollout holds for it and what it measures'),
});

export const poisonList = z.array(poisonRecord);

export const checkJson = z.strictObject({
  rev: d(str, 'as given'),
  commit: d(str, 'what it resolves to'),
  healthy: d(z.boolean(), 'no open poison in its history (exit 3 otherwise)'),
  open: d(z.array(poisonRecord), 'poisons in its history without their fix'),
  cured: z.array(z.strictObject({ id: str, curedBy: str, how: z.enum(['commit', 'cherry-pick trailer', 'patch-id']) })),
});

const affectedNodes = d(
  z.array(z.strictObject({ env: str, node: str, release: str, version: z.string().optional(), commit: str })),
  'nodes whose current release has the bug without its fix',
);

export const impactJson = z.strictObject({
  id: str,
  poison: d(str, 'the commit that brought the bug in'),
  affected: affectedNodes,
  unreachable: z.array(z.strictObject({ env: str, node: str })),
});

export const openImpactJson = z.strictObject({
  bugs: d(
    z.array(
      z.strictObject({
        id: str,
        poison: d(str, 'the commit that brought the bug in'),
        comment: str,
        ticket: z.string().optional(),
        cures: d(z.array(str), 'the commits recorded as its fix; empty: no fix yet'),
        affected: affectedNodes,
      }),
    ),
    'every known bug still open: no fix recorded, or a node still runs it without the fix',
  ),
  unreachable: d(z.array(z.strictObject({ env: str, node: str })), 'nodes not checked'),
});
