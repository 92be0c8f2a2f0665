// Approvals on the dashboard and its API: the approvals page and its forms, and the same as JSON for tokens
// (`deploy approve <id> --server <url>`). Who may approve is the environment's `approvals.from` (checked by the
// operation); "approve and deploy" and a request need the deployer role in the environment.
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { apiShapes, assertShape, type JsonOf } from '../app/shapes.js';
import {
  type App,
  type AppDeps,
  type Ctx,
  canDeploy,
  csrfOf,
  errorJson,
  errorPage,
  field,
  forbidden,
  journalName,
  readForm,
  readJson,
  render,
  statusOf,
} from './http.js';
import { approvalsBody } from './pages/approvals.js';

type Key = 'approvals' | 'requestDeploy' | 'approve' | 'signReview' | 'standing' | 'error';
function answer<K extends Key>(
  c: Ctx,
  key: K,
  value: JsonOf<(typeof apiShapes)[K]['schema']>,
  status?: ContentfulStatusCode,
) {
  assertShape(apiShapes[key].schema, value);
  return c.json(value, status);
}

export function registerApprovals(app: App, deps: AppDeps): void {
  const actions = () => deps.source.actions;
  const who = (c: Ctx) => journalName(c.get('who'));
  /** The environment of request `id`, for the role check of "approve and deploy". */
  const envOf = async (id: string) => (await actions().approvals()).requests.find((r) => r.id === id)?.env;
  const page = (what: string, work: (c: Ctx) => Promise<Response>) => async (c: Ctx) => {
    try {
      return await work(c);
    } catch (error) {
      return errorPage(c, deps, `Could not ${what}`, error);
    }
  };
  const api = (work: (c: Ctx) => Promise<Response>) => async (c: Ctx) => {
    try {
      return await work(c);
    } catch (error) {
      return answer(c, 'error', errorJson(error), statusOf(error));
    }
  };

  app.get(
    '/approvals',
    page('read the approvals', async (c) => {
      const body = approvalsBody(await actions().approvals(), c.get('who').name, csrfOf(c));
      return render(c, deps, { title: 'Approvals', body });
    }),
  );
  app.post(
    '/approvals/:id/approve',
    page('approve', async (c) => {
      const id = c.req.param('id') ?? '';
      const andDeploy = field((await readForm(c)).deploy) === '1';
      const env = await envOf(id);
      if (andDeploy && env && !canDeploy(c, env)) return forbidden(c, deps, 'approve and deploy');
      const done = await actions().approve(id, who(c), andDeploy);
      return c.redirect(done.run ? `/runs/${done.run}` : `/approvals#${id}`, 303);
    }),
  );
  app.post(
    '/approvals/reviews/:id/sign',
    page('sign the review', async (c) => {
      await actions().signReview(c.req.param('id') ?? '', who(c));
      return c.redirect('/approvals#reviews', 303);
    }),
  );
  app.post(
    '/approvals/schedules/:name',
    page('give a standing approval', async (c) => {
      await actions().standing(c.req.param('name') ?? '', who(c));
      return c.redirect('/approvals#schedules', 303);
    }),
  );

  app.get(
    '/api/approvals',
    api(async (c) => answer(c, 'approvals', await actions().approvals())),
  );
  app.post(
    '/api/approvals/request/:env',
    api(async (c) => {
      const env = c.req.param('env') ?? '';
      if (!deps.source.environments().includes(env)) return answer(c, 'error', { error: 'unknown environment' }, 404);
      if (!canDeploy(c, env)) return forbidden(c, deps, 'ask for a deploy');
      const body = await readJson(c);
      const version = typeof body.version === 'string' ? body.version : '';
      return answer(c, 'requestDeploy', await actions().request(env, version, who(c)), 201);
    }),
  );
  app.post(
    '/api/approvals/:id/approve',
    api(async (c) => {
      const id = c.req.param('id') ?? '';
      const andDeploy = (await readJson(c)).deploy === true;
      const env = await envOf(id);
      if (andDeploy && env && !canDeploy(c, env)) return forbidden(c, deps, 'approve and deploy');
      return answer(c, 'approve', await actions().approve(id, who(c), andDeploy), 201);
    }),
  );
  app.post(
    '/api/approvals/reviews/:id/sign',
    api(async (c) => answer(c, 'signReview', await actions().signReview(c.req.param('id') ?? '', who(c)), 201)),
  );
  app.post(
    '/api/approvals/schedules/:name',
    api(async (c) => answer(c, 'standing', await actions().standing(c.req.param('name') ?? '', who(c)), 201)),
  );
}
