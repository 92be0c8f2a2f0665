import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebServer } from '../../src/transport/web-server.js';
import { statsBody } from '../../src/web/pages/stats.js';
import { startServer } from '../../src/web/server.js';
import { fakeSource, usersFile } from '../helpers/fake-web.js';

let server: WebServer;
let users: Awaited<ReturnType<typeof usersFile>>;

beforeAll(async () => {
  users = await usersFile();
  server = await startServer({ host: '127.0.0.1', port: 0, usersFile: users.file }, fakeSource());
});
afterAll(() => server.close());

const scrape = (headers: Record<string, string> = {}) => fetch(`${server.url}/metrics`, { headers });

describe('deploy serve: /metrics', () => {
  it('refuses an anonymous scrape, and a wrong token', async () => {
    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error).toMatch(/send an API token/);
    expect((await scrape({ authorization: 'Bearer rlk_wrong' })).status).toBe(401);
  });

  it("answers a viewer's token in Prometheus' text format, from the journals, nodes and locks", async () => {
    const answer = await scrape({ authorization: `Bearer ${users.viewToken}` });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await answer.text();
    expect(text).toContain('# TYPE relink_deploys_total counter');
    expect(text).toMatch(/^relink_deploys_total\{env="prod",result="success"\} 1$/m);
    expect(text).toMatch(/^relink_deploy_duration_seconds_bucket\{le="10",env="prod"\} 1$/m);
    expect(text).toMatch(/^relink_nodes\{env="prod",version="v1\.1\.0"\} \d+$/m);
    expect(text).toMatch(/^relink_locks_held\{env="prod",kind="freeze"\} 0$/m);
    expect(text).toMatch(/^relink_frozen\{env="prod"\} 0$/m);
    const last = /^relink_last_success_timestamp_seconds\{env="prod"\} (\d+(?:\.\d+)?)$/m.exec(text);
    expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 7200);
  });

  it('every metric the guide and the example Grafana dashboard name is one /metrics answers with', async () => {
    const text = await (await scrape({ authorization: `Bearer ${users.viewToken}` })).text();
    const served = new Set([...text.matchAll(/^# TYPE (relink_\w+) (\w+)$/gm)].map((m) => m[1]!));
    const docs = path.join(import.meta.dirname, '..', '..', 'docs');
    const named = (file: string) => {
      const found = fs.readFileSync(path.join(docs, file), 'utf8').match(/relink_[a-z_]+/g) ?? [];
      return [...new Set(found.map((m) => m.replace(/_(bucket|sum|count)$/, '')))].sort();
    };
    const dashboard = named('grafana-dashboard.json');
    expect(dashboard.length).toBeGreaterThan(5);
    for (const metric of [...dashboard, ...named('metrics.md')]) expect([...served], metric).toContain(metric);
    expect(named('metrics.md')).toEqual([...served].sort());
  });
});

describe('the stats page', () => {
  it("shows DORA's four keys of an environment whose view carries what they need", async () => {
    const view = await fakeSource().env('prod');
    const now = new Date();
    const withDora = { ...view, dora: { changeFailureWindowMs: 86_400_000, firstCommitMs: new Map<string, number>() } };
    const page = String(statsBody([withDora], 4, now));
    // One successful deploy in 28 days; no failure; no commit time known.
    expect(page).toMatch(/<th>deployment frequency<\/th>/);
    expect(page).toMatch(/<td class="band medium">0\.04\/day <small>medium<\/small><\/td>/);
    expect(page).toMatch(/<td class="band elite">0% <small>elite<\/small><\/td>/);
    expect(String(statsBody([view], 4, now))).not.toContain('deployment frequency');
  });
});
