// The pages a viewer sees: overview, environment, run (its live event stream is events.ts), stats, release gate.
import { html } from './html.js';
import { type App, type AppDeps, canDeploy, csrfOf, errorJson, render } from './http.js';
import { envBody } from './pages/env.js';
import { gateBody } from './pages/gate.js';
import { overviewBody } from './pages/overview.js';
import { announcementBody } from './pages/upcoming.js';
import { planMarkdown } from '../app/release-plan.js';
import { journalRunBody, runBody } from './pages/run.js';
import { statsBody } from './pages/stats.js';
import { safeId } from './runs.js';
import type { CheckJson } from './types.js';
import { deploysEverywhere } from './users.js';

/** The oldest of several read times: what a page built from all of them can claim. */
const oldest = (times: readonly string[]) => [...times].sort()[0];

export function registerPages(app: App, deps: AppDeps): void {
  const { source } = deps;
  const fresh = (q: string | undefined) => q === '1';

  app.get('/', async (c) => {
    const refresh = fresh(c.req.query('refresh'));
    const views = await Promise.all(source.environments().map((env) => source.env(env, refresh)));
    // The records need the repository: an unreachable remote must not hold the overview back.
    const late = new Promise<undefined>((resolve) => setTimeout(resolve, 3000));
    const [gate, up] = await Promise.all([
      Promise.race([source.gate(refresh).catch(() => undefined), late]),
      Promise.race([source.upcoming(refresh).catch(() => undefined), late]),
    ]);
    const body = overviewBody(views, gate, source.runs.list(undefined, 20), up);
    return render(c, deps, { title: 'Overview', readAt: oldest(views.map((v) => v.readAt)), body });
  });

  app.get('/env/:env', async (c) => {
    const env = c.req.param('env');
    if (!source.environments().includes(env)) return c.notFound();
    const view = await source.env(env, fresh(c.req.query('refresh')));
    const act = canDeploy(c, env);
    const tags = act ? await source.tags().catch(() => []) : [];
    // A repository that cannot be read leaves the picker out, not the page.
    const picker = act ? await source.branches(env).catch(() => undefined) : undefined;
    const body = envBody(view, source.runs.list(env, 20), tags, act, { picker, csrf: csrfOf(c) });
    return render(c, deps, { title: `Environment ${env}`, readAt: view.readAt, body });
  });

  app.get('/runs/:run', async (c) => {
    const id = c.req.param('run');
    const run = source.runs.get(id);
    if (run) {
      const body = runBody(run, c.get('session')?.csrf ?? '', canDeploy(c, run.env));
      return render(c, deps, { title: `Run ${run.command}`, body });
    }
    if (!safeId(id)) return c.notFound();
    const views = await Promise.all(source.environments().map((env) => source.env(env)));
    const record = views.flatMap((v) => v.runs).find((r) => r.run === id);
    if (!record) return c.notFound();
    return render(c, deps, {
      title: `Run ${record.command}`,
      readAt: oldest(views.map((v) => v.readAt)),
      body: journalRunBody(record),
    });
  });

  app.get('/announcements/:id', async (c) => {
    const up = await source.upcoming(fresh(c.req.query('refresh')));
    const plan = up.releases.find((p) => p.id === c.req.param('id'));
    if (!plan) return c.notFound();
    const body = announcementBody(planMarkdown(plan));
    return render(c, deps, { title: `Release plan ${plan.id}`, readAt: up.readAt, body });
  });

  app.get('/stats', async (c) => {
    const weeks = Math.min(104, Math.max(1, Number(c.req.query('weeks') ?? 12) || 12));
    const views = await Promise.all(source.environments().map((env) => source.env(env, fresh(c.req.query('refresh')))));
    const body = statsBody(views, weeks, new Date());
    return render(c, deps, { title: 'Stats', readAt: oldest(views.map((v) => v.readAt)), body });
  });

  app.get('/gate', async (c) => {
    const gate = await source.gate(fresh(c.req.query('refresh')));
    const rev = c.req.query('check');
    let check: CheckJson | { error: string } | undefined;
    if (rev) check = await source.check(rev).catch((error: unknown) => ({ error: errorJson(error).error }));
    const body = gateBody(gate, check, deploysEverywhere(c.get('who')));
    return render(c, deps, { title: 'Release gate', readAt: gate.readAt, body });
  });

  app.notFound((c) => render(c, deps, { title: 'Not found', body: html`<p><a href="/">Overview</a></p>` }, 404));
}
