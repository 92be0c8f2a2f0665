// The actions from the pages: a GET shows what will happen (the plan, the rollback rows, the locks),
// its form POSTs the confirm with the session's CSRF token. Deployers only, per environment.
import { html } from './html.js';
import {
  type App,
  type AppDeps,
  type Ctx,
  canDeploy,
  errorPage,
  field,
  fields,
  forbidden,
  journalName,
  readForm,
  render,
} from './http.js';
import {
  cureConfirm,
  deployConfirm,
  freezeConfirm,
  poisonConfirm,
  rollbackConfirm,
  unfreezeConfirm,
} from './pages/confirm.js';
import { logMatches, logSearch, PAGE_MAX } from './pages/branches.js';
import type { RollbackTarget } from './types.js';
import { deploysEverywhere } from './users.js';

function targetOf(q: Record<string, unknown>): RollbackTarget {
  const to = field(q.to);
  return field(q.target) === 'to' || (to && field(q.target) !== 'last') ? { kind: 'to', spec: to } : { kind: 'last' };
}

export function registerActions(app: App, deps: AppDeps): void {
  const { source } = deps;
  const actions = () => source.actions;
  /** Runs `work` for a deployer of the environment in the path; anyone else gets 403. */
  const asDeployer = (what: string, work: (c: Ctx, env: string) => Promise<Response>) => async (c: Ctx) => {
    const env = c.req.param('env') ?? '';
    if (!source.environments().includes(env)) return c.notFound();
    if (!canDeploy(c, env)) return forbidden(c, deps, what);
    try {
      return await work(c, env);
    } catch (error) {
      return errorPage(c, deps, `Could not ${what}`, error);
    }
  };
  const asRecorder = (what: string, work: (c: Ctx) => Promise<Response>) => async (c: Ctx) => {
    if (!deploysEverywhere(c.get('who'))) return forbidden(c, deps, `${what} (in every environment)`);
    try {
      return await work(c);
    } catch (error) {
      return errorPage(c, deps, `Could not ${what}`, error);
    }
  };
  const csrf = (c: Ctx) => c.get('session')?.csrf ?? '';
  const form = readForm;

  app.get(
    '/env/:env/deploy',
    asDeployer('deploy', async (c, env) => {
      const version = field(c.req.query('version'));
      const plan = await actions().planDeploy(env, version, journalName(c.get('who')));
      return render(c, deps, { title: `Deploy ${plan.version} to ${env}?`, body: deployConfirm(env, plan, csrf(c)) });
    }),
  );
  app.post(
    '/env/:env/deploy',
    asDeployer('deploy', async (c, env) => {
      const f = await form(c);
      const who = journalName(c.get('who'));
      // An environment with approvals: without one that releases this deploy, the button asks for one.
      if (field(f.emergency) !== '1' && (await actions().needsRequest(env, field(f.version), who))) {
        const request = await actions().request(env, field(f.version), who);
        return c.redirect(`/approvals#${request.id}`, 303);
      }
      const run = await actions().deploy(
        env,
        {
          version: field(f.version),
          emergency: field(f.emergency) === '1',
          skipAnalysis: field(f.skipAnalysis) === '1',
          reason: field(f.reason),
          allowPoison: fields(f.allowPoison),
        },
        journalName(c.get('who')),
      );
      return c.redirect(`/runs/${run}`, 303);
    }),
  );

  app.post(
    '/env/:env/branches',
    asDeployer('deploy branches', async (c, env) => {
      const f = await form(c);
      const ask = { branches: fields(f.branch), base: field(f.base) || undefined };
      const run = await actions().deployBranches(env, ask, journalName(c.get('who')));
      return c.redirect(`/runs/${run}`, 303);
    }),
  );
  app.get(
    '/env/:env/logs',
    asDeployer('search the logs', async (c, env) => {
      const needle = field(c.req.query('grep')).trim();
      if (!needle) return render(c, deps, { title: `Search the logs of ${env}`, body: logSearch(env) });
      const found = await source.searchLogs(env, needle, PAGE_MAX);
      return render(c, deps, { title: `Logs of ${env}: ${needle}`, body: logMatches(env, needle, found) });
    }),
  );

  app.get(
    '/env/:env/rollback',
    asDeployer('roll back', async (c, env) => {
      const target = targetOf(c.req.query());
      const emergency = c.req.query('emergency') === '1';
      const rows = await actions().previewRollback(env, target);
      const title = `${emergency ? 'Emergency rollback' : 'Roll back'} ${env}?`;
      return render(c, deps, { title, body: rollbackConfirm(env, rows, target, emergency, csrf(c)) });
    }),
  );
  app.post(
    '/env/:env/rollback',
    asDeployer('roll back', async (c, env) => {
      const f = await form(c);
      const run = await actions().rollback(
        env,
        {
          target: targetOf(f),
          emergency: field(f.emergency) === '1',
          force: field(f.force) === '1',
          reason: field(f.reason),
          allowPoison: fields(f.allowPoison),
        },
        journalName(c.get('who')),
      );
      return c.redirect(`/runs/${run}`, 303);
    }),
  );

  app.get(
    '/env/:env/freeze',
    asDeployer('freeze', async (c, env) => {
      const view = await source.env(env, true);
      const body = freezeConfirm(env, field(c.req.query('message')), view.locks.nodes, csrf(c));
      return render(c, deps, { title: `Freeze ${env}?`, readAt: view.readAt, body });
    }),
  );
  app.post(
    '/env/:env/freeze',
    asDeployer('freeze', async (c, env) => {
      const id = await actions().freeze(env, field((await form(c)).message), journalName(c.get('who')));
      const text = `${env} is frozen (run ${id}): deploys refuse until it is unfrozen`;
      return render(c, deps, { title: `${env} frozen`, flash: { tone: 'good', text }, body: back(env) });
    }),
  );
  app.get(
    '/env/:env/unfreeze',
    asDeployer('unfreeze', async (c, env) => {
      const view = await source.env(env, true);
      const body = unfreezeConfirm(env, field(c.req.query('run')), view.locks.nodes, csrf(c));
      return render(c, deps, { title: `Unfreeze ${env}?`, readAt: view.readAt, body });
    }),
  );
  app.post(
    '/env/:env/unfreeze',
    asDeployer('unfreeze', async (c, env) => {
      const nodes = await actions().unfreeze(env, field((await form(c)).run), journalName(c.get('who')));
      const text = nodes.length ? `unfrozen on ${nodes.join(', ')}` : `${env} was not frozen`;
      return render(c, deps, { title: `${env} unfrozen`, flash: { tone: 'good', text }, body: back(env) });
    }),
  );

  app.post('/runs/:run/stop', async (c) => {
    const run = source.runs.get(c.req.param('run'));
    if (!run) return c.notFound();
    if (!canDeploy(c, run.env)) return forbidden(c, deps, 'stop a run');
    source.actions.stop(run.run);
    return c.redirect(`/runs/${run.run}`, 303);
  });

  app.get(
    '/gate/poison',
    asRecorder('record a poison', async (c) => {
      const commit = await actions().describeCommit(field(c.req.query('commit')));
      const body = poisonConfirm(commit, field(c.req.query('message')), field(c.req.query('ticket')), csrf(c));
      return render(c, deps, { title: 'Record a known bug?', body });
    }),
  );
  app.post(
    '/gate/poison',
    asRecorder('record a poison', async (c) => {
      const f = await form(c);
      const ticket = field(f.ticket) || undefined;
      const record = await actions().poison(field(f.commit), field(f.message), ticket, journalName(c.get('who')));
      return c.redirect(`/gate#${record.id}`, 303);
    }),
  );
  app.get(
    '/gate/cure',
    asRecorder('record a cure', async (c) => {
      const record = (await source.gate()).records.find((r) => r.id === c.req.query('id'));
      if (!record) return c.notFound();
      const fix = await actions().describeCommit(field(c.req.query('fix')));
      return render(c, deps, { title: `Cure ${record.id}?`, body: cureConfirm(record, fix, csrf(c)) });
    }),
  );
  app.post(
    '/gate/cure',
    asRecorder('record a cure', async (c) => {
      const f = await form(c);
      const record = await actions().cure(field(f.id), field(f.fix), journalName(c.get('who')));
      return c.redirect(`/gate#${record.id}`, 303);
    }),
  );
}

const back = (env: string) => html`<p><a href="/env/${env}">back to ${env}</a></p>`;
