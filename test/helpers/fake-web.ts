// A state source for the dashboard's HTTP tests: fixed environments, runs and records (some carrying
// a secret and markup), and actions that only record how they were called.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  Actions,
  EnvView,
  GateView,
  RunDetail,
  RunEnd,
  RunLine,
  StateSource,
  StatusRow,
} from '../../src/web/types.js';
import { hashPassword, tokenHash, type UserEntry, writeUsers } from '../../src/web/users.js';

export const SECRET = 'sk-live-9f8e7d6c5b4a';
export const HOSTILE = '<script>alert("x")</script>';
export const RUN = '20261121-170203-abcdef';
export const PASSWORD = 'correct horse battery';

const rel = (v: string) => `hello_prod_${v}_main_20261101-120000_ana`;

function envView(env: string, nodes: StatusRow[]): EnvView {
  return {
    env,
    readAt: new Date().toISOString(),
    window: 'no release windows: always open',
    pre: nodes[0]?.node,
    status: { env, drift: false, nodes },
    releases: {
      env,
      deployTo: '/srv/app',
      nodes: nodes.map((n) => ({
        node: n.node,
        current: n.current,
        error: n.error,
        releases: n.reachable
          ? [
              { name: rel('v1.1.0'), status: 'good', current: true, version: 'v1.1.0', commit: 'c1', ageSeconds: 60 },
              { name: rel('v1.0.0'), status: 'good', current: false, version: 'v1.0.0', commit: 'c0', ageSeconds: 600 },
            ]
          : [],
      })),
    },
    locks: {
      env,
      nodes: nodes.map((n) =>
        n.reachable
          ? { node: n.node, reachable: true, locked: false, text: 'free' }
          : { node: n.node, reachable: false, error: n.error },
      ),
    },
    runs: [
      {
        run: RUN,
        env,
        ts: new Date(Date.now() - 3600_000).toISOString(),
        user: 'web:ana',
        command: 'deploy',
        kind: 'deploy',
        version: 'v1.1.0',
        release: rel('v1.1.0'),
        result: 'success',
        ms: 4200,
        nodes: nodes.map((n) => n.node),
        reason: `because ${SECRET}`,
      },
    ],
    rollback: {
      last: nodes.map((n) => ({
        node: n.node,
        current: rel('v1.1.0'),
        currentVersion: 'v1.1.0',
        target: { release: rel('v1.0.0'), version: 'v1.0.0', commit: 'c0', branch: '' },
      })),
      to: ['v1.1.0', 'v1.0.0'],
    },
    corrupt: [],
  };
}

const up = (node: string, extra: Partial<Extract<StatusRow, { reachable: true }>> = {}): StatusRow => ({
  node,
  reachable: true,
  current: rel('v1.1.0'),
  version: 'v1.1.0',
  commit: 'c1',
  since: new Date(Date.now() - 60_000).toISOString(),
  unrecorded: false,
  healthy: true,
  health: 'ok',
  ...extra,
});

export interface Call {
  readonly action: string;
  readonly env?: string;
  readonly who: string;
  readonly args: unknown;
}

export function fakeSource(): StateSource & { calls: Call[] } {
  const calls: Call[] = [];
  const views: Record<string, EnvView> = {
    prod: envView('prod', [
      up('node1'),
      up('node2', { healthy: false, health: `GET http://n2/health: body does not contain "${SECRET}"` }),
      { node: 'node3', reachable: false, error: `connect ECONNREFUSED (key ${SECRET})`, healthy: false },
      up('node4', { current: `hello_prod_${HOSTILE}`, version: HOSTILE }),
    ]),
    dev: envView('dev', [up('dev1')]),
  };
  const lines: RunLine[] = [
    { time: new Date().toISOString(), kind: 'run', command: 'deploy', env: 'prod' },
    { time: new Date().toISOString(), kind: 'phase', phase: 'rollout' },
    { time: new Date().toISOString(), kind: 'step', step: 'rollout:relink', node: 'node1', status: 'ok', ms: 12 },
    { time: new Date().toISOString(), kind: 'warn', message: `restart printed ${SECRET}` },
  ];
  const detail: RunDetail = {
    run: RUN,
    env: 'prod',
    command: 'deploy prod v1.1.0',
    started: new Date().toISOString(),
    live: false,
    result: 'success',
    user: 'web:ana',
    lines,
    report: `# deploy prod v1.1.0: success\n\n| | |\n| --- | --- |\n| who | web:ana |\n\n- secret ${SECRET}\n`,
    fromWeb: true,
  };
  const gate: GateView = {
    readAt: new Date().toISOString(),
    records: [
      {
        id: 'p-1234abcd',
        commit: 'a'.repeat(40),
        comment: `leaks ${SECRET}`,
        who: 'ana',
        when: '2026-11-01T00:00:00Z',
        cures: [],
      },
    ],
    malformed: [],
    impact: [
      {
        id: 'p-1234abcd',
        poison: 'a'.repeat(40),
        affected: [{ env: 'prod', node: 'node1', release: rel('v1.1.0'), commit: 'c1' }],
        unreachable: [],
      },
    ],
  };
  const record = (action: string, env: string | undefined, who: string, args: unknown) => {
    calls.push({ action, env, who, args });
  };
  const actions: Actions = {
    async planDeploy(env, version, who) {
      record('plan', env, who, { version });
      return {
        env,
        version,
        commit: 'b'.repeat(40),
        branch: 'main',
        subject: `subject with ${SECRET}`,
        release: rel(version),
        commits: [],
        bugfixes: [],
        openPoisons: [],
        window: 'no release windows: always open',
        distribute: { mode: 'push', detail: 'this machine uploads to every node', steps: [] },
        nodes: [{ node: 'node1', group: 1, pre: true, current: rel('v1.1.0'), currentVersion: 'v1.1.0', steps: [] }],
        hooks: [],
        analysis: {
          prometheus: 'http://prometheus.test:9090',
          intervalMs: 30_000,
          count: 10,
          failureLimit: 1,
          noData: 'fail',
          stages: [{ afterGroup: 1, canary: ['node1'] }],
          queries: [{ name: 'error-ratio', condition: '< 0.01', promql: 'errors{node=~"node1"}' }],
        },
      };
    },
    async deploy(env, form, who) {
      record('deploy', env, who, form);
      return RUN;
    },
    async deployBranches(env, form, who) {
      record('deployBranches', env, who, form);
      return RUN;
    },
    async previewRollback(env, target) {
      return views[env]!.rollback.last.map((r) => ({ ...r, target: target.kind === 'last' ? r.target : r.target }));
    },
    async rollback(env, form, who) {
      record('rollback', env, who, form);
      return RUN;
    },
    async freeze(env, message, who) {
      record('freeze', env, who, { message });
      return RUN;
    },
    async unfreeze(env, run, who) {
      record('unfreeze', env, who, { run });
      return ['node1'];
    },
    async describeCommit(rev) {
      return { commit: 'c'.repeat(40), subject: `fix for ${rev}` };
    },
    async poison(commit, message, ticket, who) {
      record('poison', undefined, who, { commit, message, ticket });
      return gate.records[0]!;
    },
    async cure(id, fix, who) {
      record('cure', undefined, who, { id, fix });
      return gate.records[0]!;
    },
    stop: () => false,
    // Approvals: no environment of the fake has any (the sandbox test covers them).
    approvals: async () => ({ requests: [], reviews: [], schedules: [] }),
    needsRequest: async () => false,
    async request(env, version, who) {
      record('request', env, who, { version });
      throw new Error('the fake has no approvals');
    },
    async approve(id, who) {
      record('approve', undefined, who, { id });
      throw new Error('the fake has no approvals');
    },
    async signReview() {
      throw new Error('the fake has no approvals');
    },
    async standing() {
      throw new Error('the fake has no approvals');
    },
  };
  return {
    calls,
    project: 'hello',
    environments: () => ['dev', 'prod'],
    env: async (name) => views[name]!,
    gate: async () => gate,
    upcoming: async () => ({ readAt: new Date().toISOString(), releases: [] }),
    check: async (rev) => ({ rev, commit: 'c'.repeat(40), healthy: false, open: gate.records, cured: [] }),
    tags: async () => ['v1.2.0', 'v1.1.0', 'v1.0.0'],
    branches: async (env) => ({
      allowed: env === 'dev',
      base: 'main',
      branches: [
        { name: 'feat-a', commit: 'a'.repeat(40), author: '<b>ana</b>', date: '2026-11-20T10:00:00Z', subject: 's' },
      ],
    }),
    searchLogs: async () => [{ node: 'node1', lines: ['<script>trace-1</script>'], more: false }],
    runs: {
      // What the list holds of a run: its summary, without the lines and the report.
      list: () => {
        const { lines: _, report: __, fromWeb: ___, ...summary } = detail;
        return [{ ...summary, live: true }];
      },
      get: (id) => (id === RUN ? detail : undefined),
      async *follow(): AsyncIterable<RunLine | RunEnd> {
        for (const line of lines) yield line;
        yield { end: true, result: 'success' };
      },
    },
    actions,
  };
}

/** A users file with a deployer, a viewer, a deployer of dev only, and two tokens. */
export async function usersFile(): Promise<{ file: string; deployToken: string; viewToken: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-web-'));
  const file = path.join(dir, 'users.json');
  const hash = await hashPassword(PASSWORD);
  const created = new Date().toISOString();
  const users: UserEntry[] = [
    { name: 'ana', role: 'deployer', hash, created },
    { name: 'bob', role: 'viewer', hash, created },
    { name: 'dee', role: 'deployer', envs: ['dev'], hash, created },
  ];
  const deployToken = 'rlk_test-deploy-token-0123456789';
  const viewToken = 'rlk_test-view-token-0123456789';
  const tokens: UserEntry[] = [
    { name: 'ci', role: 'deployer', hash: tokenHash(deployToken), created },
    { name: 'bot', role: 'viewer', hash: tokenHash(viewToken), created },
  ];
  writeUsers(file, { users, tokens });
  return { file, deployToken, viewToken };
}
