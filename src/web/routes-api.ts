// The JSON API: the shapes of the CLI's --json output, for CI and chat bots with a token
// (Authorization: Bearer ...). Reads carry `readAt`; actions answer 202 with the run to follow.
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { apiShapes, assertShape, type JsonOf } from '../app/shapes.js';
import { computeDora, computeStats, parseSince } from '../app/history.js';
import {
  type App,
  type AppDeps,
  type Ctx,
  canDeploy,
  errorJson,
  forbidden,
  journalName,
  readJson,
  statusOf,
} from './http.js';
import type { EnvView } from './types.js';
import { deploysEverywhere } from './users.js';

type Body = Record<string, unknown>;
type Answer<K extends keyof typeof apiShapes> = JsonOf<(typeof apiShapes)[K]['schema']>;
/** Every JSON answer goes through its shape (src/app/shapes.ts), as the CLI's --json output does. */
function answer<K extends keyof typeof apiShapes>(c: Ctx, key: K, value: Answer<K>, status?: ContentfulStatusCode) {
  assertShape(apiShapes[key].schema, value);
  return c.json(value, status);
}
const refuse = (c: Ctx, error: string, status: ContentfulStatusCode) => answer(c, 'error', { error }, status);
const MAX_SINCE_MS = 36_500 * 86_400_000;
const text = (v: unknown) => (typeof v === 'string' ? v : '');
const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function registerApi(app: App, deps: AppDeps): void {
  const { source } = deps;
  const fail = (c: Ctx, error: unknown) => answer(c, 'error', errorJson(error), statusOf(error));
  /** A read of one environment: 404 for an unknown one. */
  const read =
    <K extends 'status' | 'releases' | 'locks' | 'history' | 'rollback'>(
      key: K,
      pick: (view: EnvView, c: Ctx) => Omit<Answer<K>, 'readAt'>,
    ) =>
    async (c: Ctx) => {
      const env = c.req.param('env') ?? '';
      if (!source.environments().includes(env)) return refuse(c, `unknown environment "${env}"`, 404);
      const view = await source.env(env, c.req.query('refresh') === '1');
      if (view.problem) return answer(c, 'error', { env, readAt: view.readAt, error: view.problem }, 500);
      return answer(c, key, { ...pick(view, c), readAt: view.readAt } as Answer<K>);
    };
  /** An action in one environment, for its deployers. */
  const act = (what: string, work: (c: Ctx, env: string, body: Body) => Promise<Response>) => async (c: Ctx) => {
    const env = c.req.param('env') ?? '';
    if (!source.environments().includes(env)) return refuse(c, `unknown environment "${env}"`, 404);
    if (!canDeploy(c, env)) return forbidden(c, deps, what);
    try {
      return await work(c, env, await readJson(c));
    } catch (error) {
      return fail(c, error);
    }
  };
  const started = (c: Ctx, run: string) =>
    answer(c, 'deploy', { run, url: `/runs/${run}`, events: `/api/runs/${run}/events` }, 202);

  app.get('/api/upcoming', async (c) => answer(c, 'upcoming', await source.upcoming()));
  app.get('/api/environments', (c) =>
    answer(c, 'environments', { project: source.project, environments: source.environments() }),
  );
  app.get('/api/overview', async (c) => {
    const views = await Promise.all(source.environments().map((env) => source.env(env)));
    return answer(c, 'overview', {
      environments: views.map((v) => ({
        env: v.env,
        readAt: v.readAt,
        error: v.problem,
        window: v.window,
        drift: v.status.drift,
        nodes: v.status.nodes,
        lastRun: v.runs[0],
      })),
      running: source.runs.list().filter((r) => r.live),
    });
  });
  app.get(
    '/api/status/:env',
    read('status', (v) => v.status),
  );
  app.get(
    '/api/releases/:env',
    read('releases', (v) => v.releases),
  );
  app.get(
    '/api/locks/:env',
    read('locks', (v) => v.locks),
  );
  app.get(
    '/api/history/:env',
    read('history', (v, c) => ({
      env: v.env,
      runs: v.runs.slice(0, Math.max(0, Number(c.req.query('n') ?? 20) || 20)),
    })),
  );
  app.get(
    '/api/rollback/:env',
    read('rollback', (v) => ({ env: v.env, last: v.rollback.last, to: v.rollback.to })),
  );
  app.get('/api/stats', async (c) => {
    const since = c.req.query('since') ?? '30d';
    let window: number;
    try {
      window = parseSince(since);
    } catch (error) {
      return refuse(c, (error as Error).message, 400);
    }
    // Past the dates a Date can hold (about 270,000 years) there is no cutoff to compare with.
    if (window > MAX_SINCE_MS) return refuse(c, `"${since}" reaches too far back: at most 36500d`, 400);
    const cutoff = new Date(Date.now() - window).toISOString();
    const views = await Promise.all(source.environments().map((env) => source.env(env)));
    const ofEnv = (v: EnvView) => {
      const runs = v.runs.filter((r) => r.ts >= cutoff);
      const dora = v.dora && computeDora(runs, { spanMs: window, ...v.dora });
      return { ...computeStats(runs), ...(dora ? { dora } : {}) };
    };
    const environments = Object.fromEntries(views.map((v) => [v.env, ofEnv(v)]));
    const total = computeStats(views.flatMap((v) => v.runs.filter((r) => r.ts >= cutoff)));
    const one = c.req.query('env');
    if (one) {
      const stats = environments[one];
      return stats ? answer(c, 'envStats', { since, ...stats }) : refuse(c, 'unknown environment', 404);
    }
    return answer(c, 'allStats', { since, total, environments });
  });

  app.get('/api/poison', async (c) => {
    const gate = await source.gate();
    const records = c.req.query('open') === '1' ? gate.records.filter((r) => r.cures.length === 0) : gate.records;
    return answer(c, 'poison', records);
  });
  app.get('/api/impact/:id', async (c) => {
    const found = (await source.gate()).impact.find((i) => i.id === c.req.param('id'));
    return found ? answer(c, 'impact', found) : refuse(c, `no poison record "${c.req.param('id')}"`, 404);
  });
  app.get('/api/check/:rev', (c) =>
    source.check(c.req.param('rev')).then(
      (r) => answer(c, 'check', r),
      (e) => fail(c, e),
    ),
  );

  app.get('/api/runs', (c) => answer(c, 'runs', { runs: source.runs.list(c.req.query('env')) }));
  app.get('/api/runs/:run', (c) => {
    const run = source.runs.get(c.req.param('run'));
    return run ? answer(c, 'run', run) : refuse(c, 'no such run on this machine', 404);
  });
  app.get('/api/report/:run', (c) => {
    const report = source.runs.get(c.req.param('run'))?.report;
    return report
      ? c.body(report, 200, { 'content-type': 'text/markdown; charset=utf-8' })
      : refuse(c, 'no report', 404);
  });

  app.get(
    '/api/plan/:env/:version',
    act('plan a deploy', async (c, env) =>
      answer(c, 'plan', await source.actions.planDeploy(env, c.req.param('version') ?? '', journalName(c.get('who')))),
    ),
  );
  app.post(
    '/api/deploy/:env',
    act('deploy', async (c, env, b) => {
      const form = {
        version: text(b.version),
        emergency: b.emergency === true,
        skipAnalysis: b.skipAnalysis === true,
        reason: text(b.reason),
        allowPoison: list(b.allowPoison),
      };
      return started(c, await source.actions.deploy(env, form, journalName(c.get('who'))));
    }),
  );
  app.post(
    '/api/rollback/:env',
    act('roll back', async (c, env, b) => {
      const target = text(b.to) ? { kind: 'to' as const, spec: text(b.to) } : { kind: 'last' as const };
      const form = {
        target,
        emergency: b.emergency === true,
        force: b.force === true,
        reason: text(b.reason),
        allowPoison: list(b.allowPoison),
      };
      return started(c, await source.actions.rollback(env, form, journalName(c.get('who'))));
    }),
  );
  app.post(
    '/api/lock/:env',
    act('freeze', async (c, env, b) =>
      answer(c, 'lock', { env, run: await source.actions.freeze(env, text(b.message), journalName(c.get('who'))) }),
    ),
  );
  app.post(
    '/api/unlock/:env',
    act('unfreeze', async (c, env, b) =>
      answer(c, 'unlock', {
        env,
        unlocked: await source.actions.unfreeze(env, text(b.run), journalName(c.get('who'))),
      }),
    ),
  );
  app.post('/api/runs/:run/stop', (c) => {
    const run = source.runs.get(c.req.param('run'));
    if (!run) return refuse(c, 'no such run on this machine', 404);
    if (!canDeploy(c, run.env)) return forbidden(c, deps, 'stop a run');
    return answer(c, 'stop', { stopping: source.actions.stop(run.run) });
  });
  const record = (what: string, work: (b: Body, who: string) => Promise<Answer<'addPoison'>>) => async (c: Ctx) => {
    if (!deploysEverywhere(c.get('who'))) return forbidden(c, deps, `${what} (in every environment)`);
    try {
      return answer(c, 'addPoison', await work(await readJson(c), journalName(c.get('who'))));
    } catch (error) {
      return fail(c, error);
    }
  };
  app.post(
    '/api/poison',
    record('record a poison', (b, who) =>
      source.actions.poison(text(b.commit), text(b.message), text(b.ticket) || undefined, who),
    ),
  );
  app.post(
    '/api/cure',
    record('record a cure', (b, who) => source.actions.cure(text(b.id), text(b.fix), who)),
  );
}
