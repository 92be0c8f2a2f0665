// GET /metrics: relink's own numbers in Prometheus' text format, for a scraper with a viewer's API token (or a
// logged-in session). Each scrape builds a fresh registry from what the environments' views hold now: the
// journals' runs (counters of every journaled run, durations, lead times), the nodes' versions, the locks.
import type { Registry } from 'prom-client';
import { computeDora } from '../app/history.js';
import type { App, AppDeps } from './http.js';
import type { EnvView } from './types.js';

const DAY = 86_400;
const DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const LEAD_BUCKETS = [3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 30 * DAY, 180 * DAY];

async function collect(views: readonly EnvView[]): Promise<Registry> {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  const registers = [registry];
  const deploys = new prom.Counter({
    name: 'relink_deploys_total',
    help: 'Deploy runs journaled, by environment and result',
    labelNames: ['env', 'result'],
    registers,
  });
  const rollbacks = new prom.Counter({
    name: 'relink_rollbacks_total',
    help: 'Rollback runs journaled (kind rollback or emergency-rollback), by environment and result',
    labelNames: ['env', 'kind', 'result'],
    registers,
  });
  const durations = new prom.Histogram({
    name: 'relink_deploy_duration_seconds',
    help: 'How long each journaled deploy run took',
    labelNames: ['env'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const leads = new prom.Histogram({
    name: 'relink_lead_time_seconds',
    help: "From the first commit of a release to its successful deploy (DORA's lead time for changes)",
    labelNames: ['env'],
    buckets: LEAD_BUCKETS,
    registers,
  });
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new prom.Gauge({ name, help, labelNames, registers: [registry] });
  const nodes = gauge('relink_nodes', 'Reachable nodes running each version', ['env', 'version']);
  const unreachable = gauge('relink_nodes_unreachable', 'Nodes that could not be read', ['env']);
  const locks = gauge('relink_locks_held', 'Nodes whose deploy lock is held, by a run or a freeze', ['env', 'kind']);
  const frozen = gauge('relink_frozen', '1 while the environment is frozen (deploy lock -m)', ['env']);
  const lastSuccess = gauge(
    'relink_last_success_timestamp_seconds',
    'When the newest successful deploy of the environment finished',
    ['env'],
  );
  const readOk = gauge('relink_environment_read_ok', '1 when the environment could be read, else 0', ['env']);
  const cfr = gauge('relink_change_failure_rate', 'Change failure rate over the last 30 days (0..1)', ['env']);

  for (const v of views) {
    const env = v.env;
    readOk.set({ env }, v.problem ? 0 : 1);
    if (v.problem) continue;
    for (const r of v.runs) {
      if (r.kind === 'deploy') {
        deploys.inc({ env, result: r.result });
        durations.observe({ env }, r.ms / 1000);
      } else rollbacks.inc({ env, kind: r.kind, result: r.result });
    }
    for (const [run, ms] of v.dora?.firstCommitMs ?? []) {
      const deploy = v.runs.find((r) => r.run === run);
      if (deploy) leads.observe({ env }, Math.max(0, Date.parse(deploy.ts) - ms) / 1000);
    }
    const released = v.runs.find((r) => r.kind === 'deploy' && (r.result === 'success' || r.result === 'partial'));
    if (released) lastSuccess.set({ env }, Date.parse(released.ts) / 1000);
    const versions = new Map<string, number>();
    for (const row of v.status.nodes) {
      if (row.reachable) versions.set(row.version ?? 'unknown', (versions.get(row.version ?? 'unknown') ?? 0) + 1);
    }
    for (const [version, count] of versions) nodes.set({ env, version }, count);
    unreachable.set({ env }, v.status.nodes.filter((row) => !row.reachable).length);
    const held = { run: 0, freeze: 0 };
    for (const row of v.locks.nodes) if (row.reachable && row.locked && row.owner) held[row.owner.kind]++;
    locks.set({ env, kind: 'run' }, held.run);
    locks.set({ env, kind: 'freeze' }, held.freeze);
    frozen.set({ env }, held.freeze > 0 ? 1 : 0);
    if (v.dora) {
      const cutoff = new Date(Date.now() - 30 * DAY * 1000).toISOString();
      const rate = computeDora(
        v.runs.filter((r) => r.ts >= cutoff),
        { spanMs: 30 * DAY * 1000, ...v.dora },
      ).change_failure_rate.value;
      if (rate !== null) cfr.set({ env }, rate);
    }
  }
  return registry;
}

export function registerMetrics(app: App, deps: AppDeps): void {
  app.get('/metrics', async (c) => {
    const views = await Promise.all(deps.source.environments().map((env) => deps.source.env(env)));
    const registry = await collect(views);
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
}
