// The --json output of every command and every answer of the dashboard's JSON API, parsed with the shapes
// the code prints and answers through (src/app/shapes.ts, rendered as docs/reference/json.md), strictly.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiShapes, cliShapes } from '../../src/app/shapes.js';
import { apiJson, cliJson } from '../helpers/json.js';
import { distDir, Project, readSandbox, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
let server: ChildProcess | undefined;
const seen = new Set<string>();

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  // stage: the same nodes as prod, with approvals (from the group of both API tokens) and a schedule, for the
  // shapes of requests, approvals, standing approvals and reviews.
  project = new Project(sb, {
    configExtra:
      "people: { groups: { ops: ['ci', 'bo'] } }, environments: { stage: { approvals: { from: ['ops'] } } }, " +
      "schedule: [{ name: 'stage-weekly', env: 'stage', cron: '0 17 * * 2', version: 'latest' }],",
  });
  // Only prod (and stage): the helper's dev environment shares node2's deployTo.
  fs.rmSync(path.join(project.dir, 'hosts', 'dev.yaml'));
  fs.copyFileSync(path.join(project.dir, 'hosts', 'prod.yaml'), path.join(project.dir, 'hosts', 'stage.yaml'));
});

afterAll(() => {
  server?.kill('SIGTERM');
  stopApps(sb);
  project.remove();
});

/** Runs `args --json` and parses its output with the shape of `key` (strict: no key more or less). */
async function documented<K extends keyof typeof cliShapes>(key: K, args: string[], code = 0) {
  // Before a `--` (deploy exec's command follows it), else last.
  const at = args.includes('--') ? args.indexOf('--') : args.length;
  const r = await project.deploy([...args.slice(0, at), '--json', ...args.slice(at)]);
  expect([r.code, r.stderr], args.join(' ')).toEqual([code, expect.any(String)]);
  seen.add(key);
  return cliJson(key, r.stdout);
}

const commit = (rev: string) =>
  execFileSync('git', ['-C', project.appRepo, 'rev-parse', `${rev}^{commit}`], { encoding: 'utf8' }).trim();

let poisonId = '';

describe('the --json output is what docs/reference/json.md says (src/app/shapes.ts)', () => {
  it('for every command that has --json, after a deploy, a poison, a cure and a freeze', async () => {
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    await documented('plan', ['plan', 'prod', 'v1.1.0']);
    await documented('status', ['status', 'prod']);
    await documented('releases', ['releases', 'prod']);
    await documented('history', ['history', 'prod']);
    await documented('envStats', ['stats', 'prod']);
    await documented('allStats', ['stats']);
    await documented('doctor', ['doctor', 'prod']);
    await documented('exec', ['exec', 'prod', '--in', 'current', '--', 'true']);

    const poisoned = await project.deploy(['poison', commit('v1.0.0'), '-m', 'a known bug', '--ticket', 'OPS-1']);
    expect(poisoned.code).toBe(0);
    poisonId = poisoned.stdout.trim();
    expect((await project.deploy(['cure', poisonId, commit('v1.1.0')])).code).toBe(0);
    expect(await documented('poisonList', ['poison', 'list'])).toHaveLength(1);
    await documented('poisonShow', ['poison', 'show', poisonId]);
    expect((await documented('check', ['check', 'v1.0.0'], 3)).open).toHaveLength(1);
    expect((await documented('check', ['check', 'v1.2.0'])).cured).toHaveLength(1);
    // Every node, once as prod's and once as stage's (the same nodes).
    expect((await documented('impact', ['impact', poisonId])).affected).toHaveLength(2 * sb.nodes.length);
    // Cured by v1.1.0, still running v1.0.0 everywhere: open.
    expect((await documented('impactOpen', ['impact', '--open'])).bugs.map((b) => b.id)).toEqual([poisonId]);

    await documented('locks', ['lock', 'status', 'prod']);
    expect((await project.deploy(['lock', 'prod', '-m', 'json shapes'])).code).toBe(0);
    const frozen = await documented('locks', ['lock', 'status', 'prod']);
    expect(frozen.nodes.every((n) => n.owner?.kind === 'freeze')).toBe(true);
    await documented('status', ['status', 'prod']);
    expect((await project.deploy(['unlock', 'prod'])).code).toBe(0);

    const at = new Date(Date.now() + 86_400_000).toISOString();
    expect((await documented('announce', ['announce', 'prod', 'v1.1.0', '--at', at])).plan.id).toMatch(/^a-/);
    requested = (await documented('request', ['request', 'stage', 'v1.1.0', '--author', 'ana'])).id;

    // `deploy analyze` with an analysis (in a config of its own: the deploys above have none) whose Prometheus
    // does not answer: exit 1, the reason in the JSON.
    const analyzing = path.join(project.dir, 'deploy.analyze.mjs');
    const analysis = {
      prometheus: { url: 'http://127.0.0.1:9', timeoutMs: 2000 },
      queries: [{ name: 'error-ratio', query: 'sum(rate(http_requests_total{status="500"}[1m]))', condition: '< 1' }],
    };
    fs.writeFileSync(
      analyzing,
      fs
        .readFileSync(project.configFile, 'utf8')
        .replace(/\n};\s*$/, `\n  analysis: ${JSON.stringify(analysis)},\n};\n`),
    );
    const analyzed = await documented('analyze', ['analyze', 'prod', '--config', analyzing], 1);
    expect(analyzed.queries.map((q) => q.query)).toEqual(['error-ratio']);

    // `deploy approve` talks to the dashboard: checked with the API below.
    expect(Object.keys(cliShapes).filter((k) => !seen.has(k) && k !== 'approve')).toEqual([]);
  });
});

let requested = '';

/** The token of a second deployer (bo), who approves what ci asked for. */
let second = '';

/** Starts `deploy serve` on a free port with API tokens of two deployers everywhere; its URL and ci's token. */
async function serve(): Promise<{ url: string; token: string }> {
  const bin = path.join(distDir, 'bin', 'deploy.js');
  const env = { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value' };
  const addToken = (name: string) =>
    execFileSync('node', [bin, 'serve', '--add-token', name, '--role', 'deployer'], {
      cwd: project.dir,
      env,
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  const token = addToken('ci');
  second = addToken('bo');
  server = spawn('node', [bin, 'serve', '--port', '0', '--cache-ms', '0'], { cwd: project.dir, env });
  let out = '';
  server.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deploy serve did not start: ${out}`)), 60_000);
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /relink dashboard for \S+: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    server!.on('exit', (code) => reject(new Error(`deploy serve exited ${code}: ${out}`)));
  });
  return { url, token };
}

describe("the dashboard's JSON API answers with the same shapes", () => {
  it('every route, reads and actions, and a refusal', async () => {
    const { url, token } = await serve();
    /** Calls `route` and parses its answer with the shape of `key` (strict), checking the status. */
    const call = async <K extends keyof typeof apiShapes>(key: K, route: string, status = 200, body?: unknown) => {
      const method = body === undefined ? 'GET' : 'POST';
      const r = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await r.text();
      expect(r.status, `${method} ${route}: ${text.slice(0, 300)}`).toBe(status);
      seen.add(`api:${key}`);
      return apiJson(key, text);
    };
    /** Follows a run the dashboard started until it ended; its last answer. */
    const ended = async (run: string) => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const detail = await call('run', `/api/runs/${run}`);
        if (!detail.live || Date.now() > deadline) return detail;
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    expect((await call('environments', '/api/environments')).environments).toEqual(['prod', 'stage']);
    expect((await call('overview', '/api/overview')).environments).toHaveLength(2);
    expect((await call('status', '/api/status/prod')).nodes).toHaveLength(sb.nodes.length);
    await call('releases', '/api/releases/prod');
    await call('locks', '/api/locks/prod');
    expect((await call('history', '/api/history/prod?n=5')).runs.length).toBeGreaterThan(0);
    await call('rollback', '/api/rollback/prod');
    await call('envStats', '/api/stats?env=prod&since=30d');
    await call('allStats', '/api/stats');
    expect(await call('poison', '/api/poison')).toHaveLength(1);
    await call('impact', `/api/impact/${poisonId}`);
    expect((await call('check', '/api/check/v1.0.0')).healthy).toBe(false);
    await call('plan', '/api/plan/prod/v1.1.0');

    const frozen = await call('lock', '/api/lock/prod', 200, { message: 'json shapes over the API' });
    expect((await call('unlock', '/api/unlock/prod', 200, { run: frozen.run })).unlocked).toHaveLength(sb.nodes.length);

    const deploy = await call('deploy', '/api/deploy/prod', 202, { version: 'v1.1.0' });
    expect((await ended(deploy.run)).result).toBe('success');
    expect((await call('runs', '/api/runs?env=prod')).runs.map((r) => r.run)).toContain(deploy.run);
    expect((await call('stop', `/api/runs/${deploy.run}/stop`, 200, {})).stopping).toBe(false);
    // Back to v1.0.0, which has the poison without its fix: allowed by id with a reason.
    const allow = { allowPoison: [poisonId], reason: 'json shapes over the API' };
    const back = await call('rollbackRun', '/api/rollback/prod', 202, allow);
    expect((await ended(back.run)).result).toBe('success');

    const recorded = await call('addPoison', '/api/poison', 200, { commit: commit('v1.1.0'), message: 'over the API' });
    await call('cure', '/api/cure', 200, { id: recorded.id, fix: commit('v1.2.0') });
    expect((await call('error', '/api/status/nowhere', 404)).error).toMatch(/unknown environment/);

    // Approvals on stage: ci approves ana's request; bo approves ci's through `deploy approve`; a standing
    // approval for the schedule; bo's emergency release past the approvals, whose review ci signs.
    await call('upcoming', '/api/upcoming');
    expect((await call('approvals', '/api/approvals')).requests.map((r) => r.id)).toEqual([requested]);
    const asked = await call('requestDeploy', '/api/approvals/request/stage', 201, { version: 'v1.1.0' });
    expect((await call('approve', `/api/approvals/${requested}/approve`, 201, {})).approval.request).toBe(requested);
    const byCli = await project.deploy(['approve', asked.id, '--server', url, '--token', second, '--json']);
    expect(byCli.code, byCli.stderr).toBe(0);
    seen.add('approve');
    expect(cliJson('approve', byCli.stdout).approval.request).toBe(asked.id);
    await call('standing', '/api/approvals/schedules/stage-weekly', 201, {});
    const emergency = await fetch(`${url}/api/deploy/stage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${second}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v1.2.0', emergency: true, reason: 'json shapes past the approvals' }),
    });
    expect(emergency.status).toBe(202);
    const released = await ended(apiJson('deploy', await emergency.text()).run);
    expect(released.result, JSON.stringify(released).slice(0, 3000)).toBe('success');
    const review = (await call('approvals', '/api/approvals')).reviews[0]!.id;
    await call('signReview', `/api/approvals/reviews/${review}/sign`, 201, {});

    expect(Object.keys(cliShapes).filter((k) => !seen.has(k))).toEqual([]);

    expect(Object.keys(apiShapes).filter((k) => !seen.has(`api:${k}`))).toEqual([]);
  });
});
