import { describe, expect, it } from 'vitest';
import { matchAnnouncement, upcoming } from '../../src/app/announce-records.js';
import { buildReleasePlan, type PlanInputs, planMarkdown } from '../../src/app/release-plan.js';
import { dueAt } from '../../src/app/schedule-announce.js';
import { type ReleasePlan, releasePlan } from '../../src/app/shapes.js';
import { resolveConfig } from '../../src/config/load.js';
import { membersOf, resolvePeople } from '../../src/config/schema-people.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { parseAhead, parseAt } from '../../src/config/when.js';
import { renderReport } from '../../src/pipeline/lifecycle/report.js';
import { differences } from '../../src/pipeline/phases/announced.js';
import type { Plan } from '../../src/pipeline/phases/plan.js';

const base = { project: 'hello', repo: './app', deployTo: '/srv/hello' };
const people = {
  groups: { ops: ['ana', 'bob'], sre: ['cy'] },
  owner: 'ana',
  approvers: ['ops'],
  onCall: ['bob'],
};

const deployPlan: Plan = {
  env: 'prod',
  version: 'v1.2.0',
  commit: 'b'.repeat(40),
  branch: 'main',
  subject: 'fix the checkout',
  release: '20261208T170000Z_v1.2.0_bbbbbbbbbbbb_ana',
  commits: [{ sha: 'b'.repeat(40), subject: 'fix the checkout' }],
  bugfixes: [{ id: 'p-11111111', comment: 'checkout 500s', ticket: 'SHOP-1' }],
  openPoisons: [{ id: 'p-22222222', commit: 'c'.repeat(40), comment: 'slow search', who: 'bob' }],
  window: 'OUTSIDE the release windows; next opens Tue 08/12/2026, 17:00 UTC',
  distribute: { mode: 'push', detail: 'this machine sends to every node', steps: [] },
  nodes: [
    { node: 'node1', group: 1, pre: true, current: 'r-old-1', currentVersion: 'v1.1.0', steps: [] },
    { node: 'node2', group: 2, pre: false, current: 'r-old-2', currentVersion: 'v1.1.0', steps: [] },
    { node: 'node3', group: 2, pre: false, steps: [] },
  ],
  hooks: [
    { point: 'beforeBuild', name: 'lint', on: [], command: 'npm run lint' },
    { point: 'beforeSwitch', name: 'backup', on: ['node1'], command: 'pg_dump shop > /tmp/shop.dump' },
    { point: 'beforeSwitch', name: 'migrate', on: ['node1'], command: 'npm run migrate' },
    { point: 'afterSwitch', name: 'warm', on: ['node1', 'node2', 'node3'], command: 'curl -fsS localhost/warm' },
    { point: 'afterRollout', name: 'e2e', on: [], command: 'npm run e2e' },
    { point: 'onFailure', name: 'page', on: [], command: 'page-ops' },
  ],
};

function inputs(over: Partial<PlanInputs> = {}): PlanInputs {
  const user = validateUserConfig(
    {
      ...base,
      people,
      smoke: { url: 'http://{{ node.address }}:8080/health' },
      environments: { prod: { people: { owner: 'sre', onCall: ['sre', 'dee'] } } },
    },
    'deploy.config.ts',
  );
  return {
    id: 'a-12345678',
    plan: deployPlan,
    config: resolveConfig(user, 'prod', '/p/deploy.config.ts'),
    time: { at: new Date('2026-12-08T17:00:00Z'), from: 'window' },
    announcedBy: 'ana',
    announcedAt: new Date('2026-12-07T09:00:00Z'),
    ...over,
  };
}

describe('people', () => {
  it("resolves an environment's roles over the top level's, groups kept as names", () => {
    const user = { people, environments: { prod: { people: { owner: 'sre', approvers: [] } } } };
    expect(resolvePeople(user, 'prod')).toEqual({ owner: 'sre', approvers: [], onCall: ['bob'] });
    expect(resolvePeople(user, 'dev')).toEqual({ owner: 'ana', approvers: ['ops'], onCall: ['bob'] });
    expect(resolvePeople({}, 'dev')).toEqual({ approvers: [], onCall: [] });
    expect(membersOf(user, 'ops')).toEqual(['ana', 'bob']);
    expect(membersOf(user, 'dee')).toEqual(['dee']);
  });

  it('is checked by the schema: groups only at the top level, names without spaces', () => {
    expect(() => validateUserConfig({ ...base, people }, 'deploy.config.ts')).not.toThrow();
    expect(() =>
      validateUserConfig({ ...base, environments: { prod: { people: { groups: {} } } } }, 'deploy.config.ts'),
    ).toThrow(/environments\.prod\.people: unknown key "groups"/);
    expect(() => validateUserConfig({ ...base, people: { owner: 'ana smith' } }, 'deploy.config.ts')).toThrow(
      /people\.owner/,
    );
  });
});

describe('times', () => {
  it('reads how long ahead a schedule announces itself', () => {
    expect(parseAhead('24h')).toBe(86_400_000);
    expect(parseAhead('90m')).toBe(5_400_000);
    expect(parseAhead('2d')).toBe(172_800_000);
    for (const bad of ['soon', '0h', '24', '1.5h', '-2h']) expect(() => parseAhead(bad)).toThrow(/not a time ahead/);
    const schedule = [{ env: 'prod', cron: '0 17 * * 2', version: 'latest', announce: 'soon' }];
    expect(() => validateUserConfig({ ...base, schedule }, 'deploy.config.ts')).toThrow(/schedule\[0\]\.announce/);
  });

  it('reads --at in the environment time zone, across daylight saving, or as an ISO time', () => {
    expect(parseAt('2026-12-08 17:00', 'Europe/Berlin').toISOString()).toBe('2026-12-08T16:00:00.000Z');
    expect(parseAt('2026-07-01T17:00', 'Europe/Berlin').toISOString()).toBe('2026-07-01T15:00:00.000Z');
    expect(parseAt('2026-12-08 17:00', 'UTC').toISOString()).toBe('2026-12-08T17:00:00.000Z');
    expect(parseAt('2026-12-08T17:00:00+01:00', 'UTC').toISOString()).toBe('2026-12-08T16:00:00.000Z');
    for (const bad of ['tomorrow', '2026-02-30 17:00', '2026-12-08', '17:00', '2026-12-08 25:00']) {
      expect(() => parseAt(bad, 'UTC')).toThrow(/is not a time such as/);
    }
  });

  it("an entry's announcement is due once its next fire time is within `announce`", () => {
    const entry = { name: 'weekly', env: 'prod', cron: '0 17 * * 2', version: 'latest', announce: '24h' };
    const monday = new Date('2026-12-07T16:00:00Z');
    expect(dueAt(entry, 'UTC', monday)).toBeUndefined();
    expect(dueAt(entry, 'UTC', new Date('2026-12-07T17:00:00Z'))?.toISOString()).toBe('2026-12-08T17:00:00.000Z');
    expect(dueAt({ ...entry, announce: undefined }, 'UTC', monday)).toBeUndefined();
  });
});

describe('the release plan', () => {
  it('has every part: what goes out, backup, time, people, rollback per node, checks', () => {
    const plan = buildReleasePlan(inputs());
    expect(() => releasePlan.parse(plan)).not.toThrow();
    expect(plan.goesOut).toEqual({
      from: undefined,
      commits: deployPlan.commits,
      bugfixes: deployPlan.bugfixes,
      openPoisons: deployPlan.openPoisons,
    });
    expect(plan.backup.map((h) => h.name)).toEqual(['backup', 'migrate']);
    expect(plan.time).toEqual({
      at: '2026-12-08T17:00:00.000Z',
      from: 'window',
      timezone: 'UTC',
      window: deployPlan.window,
    });
    expect(plan.people).toEqual({
      owner: { name: 'sre', members: ['cy'] },
      approvers: [{ name: 'ops', members: ['ana', 'bob'] }],
      onCall: [
        { name: 'sre', members: ['cy'] },
        { name: 'dee', members: ['dee'] },
      ],
    });
    expect(plan.rollback.command).toBe('rollback prod --last');
    expect(plan.rollback.emergency).toBe('rollback prod --last --emergency --reason "why v1.2.0 cannot stay"');
    expect(plan.rollback.nodes).toEqual([
      { node: 'node1', backTo: 'r-old-1', backToVersion: 'v1.1.0', command: 'rollback prod --to r-old-1 --node node1' },
      { node: 'node2', backTo: 'r-old-2', backToVersion: 'v1.1.0', command: 'rollback prod --to r-old-2 --node node2' },
      { node: 'node3', problem: expect.stringMatching(/^nothing runs there now/) },
    ]);
    expect(plan.checks.smoke).toBe('GET http://{{ node.address }}:8080/health on each node');
    expect(plan.checks.hooks.map((h) => `${h.point}:${h.name}`)).toEqual(['afterSwitch:warm', 'afterRollout:e2e']);
  });

  it('says what every node runs now when they agree, and --at and a schedule as the source of the time', () => {
    const agreed = { ...deployPlan, nodes: deployPlan.nodes.slice(0, 2) };
    const plan = buildReleasePlan(inputs({ plan: agreed, time: { from: 'none' }, schedule: 'weekly' }));
    expect(plan.goesOut.from).toBe('v1.1.0');
    expect(plan.time.at).toBeUndefined();
    expect(plan.schedule).toBe('weekly');
  });

  it('as Markdown: a section per part, with the commands to type', () => {
    const md = planMarkdown(buildReleasePlan(inputs()));
    for (const heading of ['Time', 'People', 'What goes out', 'Data backup', 'Rollback', 'Checks after']) {
      expect(md).toContain(`\n## ${heading}\n`);
    }
    expect(md).toMatch(/^# Release plan a-12345678: v1\.2\.0 to prod/);
    expect(md).toContain('Tue, 08/12/2026, 17:00 UTC (2026-12-08T17:00:00Z): the next release window');
    expect(md).toContain('- owner: sre (cy)');
    expect(md).toContain('- approvers: ops (ana, bob)');
    expect(md).toContain('- p-11111111: checkout 500s (SHOP-1)');
    expect(md).toContain('- p-22222222: slow search');
    expect(md).toContain('- beforeSwitch `backup` on node1: `pg_dump shop > /tmp/shop.dump`');
    expect(md).toContain('| node1 | `r-old-1` | v1.1.0 | `rollback prod --to r-old-1 --node node1` |');
    expect(md).toContain('Emergency (all at once, no smoke gate): `rollback prod --last --emergency --reason');
    expect(md).toContain('- afterRollout `e2e` on the deploy machine: `npm run e2e`');
  });
});

describe('announcements and deploys', () => {
  const at = (iso: string | undefined, over: Partial<ReleasePlan> = {}): ReleasePlan => {
    const p = buildReleasePlan(inputs({ time: iso ? { at: new Date(iso), from: 'at' } : { from: 'none' } }));
    return { ...p, ...over };
  };
  const now = new Date('2026-12-08T16:50:00Z');

  it('lists the releases still to come, soonest first; those without a time last', () => {
    const plans = [
      at('2026-12-10T17:00:00Z', { id: 'a-later' }),
      at('2026-12-08T17:00:00Z', { id: 'a-soon' }),
      at('2026-12-08T15:00:00Z', { id: 'a-past' }),
      at(undefined, { id: 'a-untimed' }),
    ];
    expect(upcoming(plans, now).map((p) => p.id)).toEqual(['a-soon', 'a-later', 'a-untimed']);
  });

  it('matches a deploy by environment and version, or by its schedule; the nearest in time wins', () => {
    const plans = [
      at('2026-12-08T17:00:00Z', { id: 'a-near' }),
      at('2026-12-10T17:00:00Z', { id: 'a-far' }),
      at('2026-12-08T17:00:00Z', { id: 'a-sched', version: 'v1.1.9', schedule: 'weekly' }),
      at('2026-12-08T17:00:00Z', { id: 'a-dev', env: 'dev' }),
    ];
    expect(matchAnnouncement(plans, { env: 'prod', version: 'v1.2.0', now })).toMatchObject({
      id: 'a-near',
      version: 'v1.2.0',
      at: '2026-12-08T17:00:00.000Z',
    });
    expect(matchAnnouncement(plans, { env: 'prod', version: 'v1.2.0', schedule: 'weekly', now })?.id).toBe('a-sched');
    expect(matchAnnouncement(plans, { env: 'prod', version: 'v9.0.0', now })).toBeUndefined();
    const weekLater = new Date('2026-12-20T17:00:00Z');
    expect(matchAnnouncement(plans, { env: 'prod', version: 'v1.2.0', now: weekLater })).toBeUndefined();
  });

  it('says what differed from the plan: another tag, a moved tag, another time', () => {
    const ref = { id: 'a-1', version: 'v1.2.0', commit: 'b'.repeat(40), at: '2026-12-08T17:00:00.000Z' };
    const onTime = new Date('2026-12-08T17:10:00Z');
    expect(differences(ref, { version: 'v1.2.0', commit: 'b'.repeat(40), started: onTime })).toEqual([]);
    expect(differences(ref, { version: 'v1.2.1', commit: 'd'.repeat(40), started: onTime })).toEqual([
      'another version: v1.2.1 (dddddddddddd) instead of the announced v1.2.0',
    ]);
    expect(differences(ref, { version: 'v1.2.0', commit: 'd'.repeat(40), started: onTime })).toEqual([
      'v1.2.0 now names commit dddddddddddd, not the announced bbbbbbbbbbbb',
    ]);
    const late = new Date('2026-12-08T19:30:00Z');
    expect(differences(ref, { version: 'v1.2.0', commit: 'b'.repeat(40), started: late })).toEqual([
      'another time: started 2026-12-08T19:30:00.000Z, announced for 2026-12-08T17:00:00.000Z (2h 30m later)',
    ]);
  });

  it("the deploy's report names the announcement and what differed", () => {
    const report = {
      runId: 'r1',
      command: 'deploy prod v1.2.1',
      env: 'prod',
      user: 'ana',
      started: new Date('2026-12-08T17:00:00Z'),
      finished: new Date('2026-12-08T17:01:00Z'),
      result: 'success',
      steps: [],
      rollbackCommand: 'rollback prod --last',
    };
    const differed = renderReport({ ...report, announcement: { id: 'a-1', differences: ['another version: v1.2.1'] } });
    expect(differed).toContain('| announced | a-1 |');
    expect(differed).toContain('## Against the announced plan\n\n- another version: v1.2.1\n');
    expect(renderReport({ ...report, announcement: { id: 'a-1', differences: [] } })).toContain('As announced (a-1).');
    expect(renderReport(report)).not.toContain('announced');
  });
});
