// Every `--json` shape, once, as zod schemas (src/app/shapes/): the CLI prints through them, the dashboard's
// API answers through them, scripts/docs/json-shapes.ts renders docs/reference/json.md from them, and the
// integration tests parse real output with them. Strict objects: a field added or dropped fails them.
import { z } from 'zod';
import * as analysis from './shapes/analysis.js';
import * as announce from './shapes/announce.js';
import * as api from './shapes/api.js';
import * as approvals from './shapes/approvals.js';
import { poisonRecord } from './shapes/common.js';
import * as exec from './shapes/exec.js';
import * as nodes from './shapes/nodes.js';
import * as records from './shapes/records.js';

export * from './shapes/analysis.js';
export * from './shapes/announce.js';
export * from './shapes/api.js';
export * from './shapes/approvals.js';
export { lockOwner, poisonRecord, runRecord, stats } from './shapes/common.js';
export * from './shapes/exec.js';
export * from './shapes/nodes.js';
export * from './shapes/records.js';

type Keys<U> = U extends unknown ? keyof U : never;
/** A member of a union of objects, with the keys only the other members have as absent (`n.error` reads). */
type Loose<U, All = U> = U extends object ? U & { readonly [K in Exclude<Keys<All>, keyof U>]?: undefined } : U;
type Frozen<T> = T extends readonly (infer U)[]
  ? readonly Frozen<Loose<U>>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<Loose<T[K]>> }
    : T;

/** The value a shape describes, read-only (what the engine hands over is), its unions readable as one. */
export type JsonOf<S extends z.ZodType> = Frozen<Loose<z.output<S>>>;

export type StatusJson = JsonOf<typeof nodes.statusJson>;
export type StatusRow = JsonOf<typeof nodes.statusRow>;
export type ReleasesJson = JsonOf<typeof nodes.releasesJson>;
export type LocksJson = JsonOf<typeof nodes.locksJson>;
export type DoctorJson = JsonOf<typeof nodes.doctorJson>;
export type ExecJson = JsonOf<typeof exec.execJson>;
export type HistoryJson = JsonOf<typeof records.historyJson>;
export type PlanJson = JsonOf<typeof records.planJson>;
export type AnalyzeJson = JsonOf<typeof analysis.analyzeJson>;
export type ReleasePlan = JsonOf<typeof announce.releasePlan>;
export type AnnounceJson = JsonOf<typeof announce.announceJson>;
export type UpcomingJson = JsonOf<typeof announce.upcomingJson>;
export type CheckJson = JsonOf<typeof records.checkJson>;
export type ImpactJson = JsonOf<typeof records.impactJson>;
export type OpenImpactJson = JsonOf<typeof records.openImpactJson>;
export type RollbackJson = JsonOf<typeof api.rollbackJson>;
export type LocalRun = JsonOf<typeof api.localRun>;
export type RunLine = JsonOf<typeof api.runLine>;
export type RunDetail = JsonOf<typeof api.runDetail>;

/** Whether output that differs from its shape stops the command (tests, development) or only warns. */
const strict = () => ['test', 'development'].includes(process.env.NODE_ENV ?? '');

/**
 * Checks `value` against its shape as it will be sent (JSON text: keys left undefined are left out).
 * A difference is a bug in relink: it throws under NODE_ENV test or development, else warns.
 */
export function assertShape(schema: z.ZodType, value: unknown): void {
  const checked = schema.safeParse(JSON.parse(JSON.stringify(value) ?? 'null'));
  if (checked.success) return;
  const message = `relink's JSON output differs from docs/reference/json.md:\n${z.prettifyError(checked.error)}`;
  if (strict()) throw new Error(message);
  process.stderr.write(`warning: ${message}\n(please report this)\n`);
}

/** `value`, checked against its shape (assertShape), typed by it. */
export function conform<S extends z.ZodType>(schema: S, value: JsonOf<S>): JsonOf<S> {
  assertShape(schema, value);
  return value;
}

/** Prints one `--json` output of the CLI, checked against its shape. */
export function printJson<S extends z.ZodType>(schema: S, value: JsonOf<S>): void {
  process.stdout.write(`${JSON.stringify(conform(schema, value), null, 2)}\n`);
}

/** One `--json` output: the command line it answers and its shape. */
export interface CliShape {
  readonly command: string;
  readonly schema: z.ZodType;
}

/** Every command that has `--json`, in the order of the reference. */
export const cliShapes = {
  status: { command: 'deploy status <env> --json', schema: nodes.statusJson },
  releases: { command: 'deploy releases <env> --json', schema: nodes.releasesJson },
  plan: { command: 'deploy plan <env> <version> --json', schema: records.planJson },
  analyze: { command: 'deploy analyze <env> --json', schema: analysis.analyzeJson },
  announce: { command: 'deploy announce <env> <version> --json', schema: announce.announceJson },
  history: { command: 'deploy history <env> --json', schema: records.historyJson },
  envStats: { command: 'deploy stats <env> --json', schema: records.envStatsJson },
  allStats: { command: 'deploy stats --json', schema: records.allStatsJson },
  poisonList: { command: 'deploy poison list [--open] --json', schema: records.poisonList },
  poisonShow: { command: 'deploy poison show <id> --json', schema: poisonRecord },
  check: { command: 'deploy check <rev> --json', schema: records.checkJson },
  impact: { command: 'deploy impact <id> --json', schema: records.impactJson },
  impactOpen: { command: 'deploy impact --open --json', schema: records.openImpactJson },
  doctor: { command: 'deploy doctor <env> --json', schema: nodes.doctorJson },
  locks: { command: 'deploy lock status <env> --json', schema: nodes.locksJson },
  exec: { command: 'deploy exec <env> --json -- <command>', schema: exec.execJson },
  request: { command: 'deploy request <env> <version> --json', schema: approvals.approvalRequestJson },
  approve: { command: 'deploy approve <id> --server <url> --json', schema: approvals.approvedJson },
} as const satisfies Record<string, CliShape>;

/** One answer of the dashboard's JSON API: its route, its shape, and the CLI output it carries, if any. */
export interface ApiShape {
  readonly route: string;
  readonly schema: z.ZodType;
  /** The `--json` output whose fields it has (plus `readAt` for a read of one environment). */
  readonly like?: string;
}

const withReadAt = <T extends z.ZodObject>(schema: T) => schema.extend(api.readAtField);

/** Each API route and what it answers with (a refusal answers `apiError`). */
export const apiShapes = {
  environments: { route: 'GET /api/environments', schema: api.environmentsJson },
  overview: { route: 'GET /api/overview', schema: api.overviewJson },
  status: { route: 'GET /api/status/:env', schema: withReadAt(nodes.statusJson), like: cliShapes.status.command },
  releases: {
    route: 'GET /api/releases/:env',
    schema: withReadAt(nodes.releasesJson),
    like: cliShapes.releases.command,
  },
  locks: { route: 'GET /api/locks/:env', schema: withReadAt(nodes.locksJson), like: cliShapes.locks.command },
  history: {
    route: 'GET /api/history/:env?n=',
    schema: withReadAt(records.historyJson),
    like: cliShapes.history.command,
  },
  rollback: { route: 'GET /api/rollback/:env', schema: api.rollbackJson },
  envStats: { route: 'GET /api/stats?env=&since=', schema: records.envStatsJson, like: cliShapes.envStats.command },
  allStats: { route: 'GET /api/stats?since=', schema: records.allStatsJson, like: cliShapes.allStats.command },
  poison: { route: 'GET /api/poison?open=1', schema: records.poisonList, like: cliShapes.poisonList.command },
  impact: { route: 'GET /api/impact/:id', schema: records.impactJson, like: cliShapes.impact.command },
  check: { route: 'GET /api/check/:rev', schema: records.checkJson, like: cliShapes.check.command },
  runs: { route: 'GET /api/runs?env=', schema: api.runsJson },
  run: { route: 'GET /api/runs/:run', schema: api.runDetail },
  plan: { route: 'GET /api/plan/:env/:version', schema: records.planJson, like: cliShapes.plan.command },
  upcoming: { route: 'GET /api/upcoming', schema: announce.upcomingJson },
  deploy: { route: 'POST /api/deploy/:env', schema: api.startedJson },
  rollbackRun: { route: 'POST /api/rollback/:env', schema: api.startedJson },
  lock: { route: 'POST /api/lock/:env', schema: api.frozenJson },
  unlock: { route: 'POST /api/unlock/:env', schema: api.unfrozenJson },
  stop: { route: 'POST /api/runs/:run/stop', schema: api.stoppingJson },
  addPoison: { route: 'POST /api/poison', schema: poisonRecord, like: cliShapes.poisonShow.command },
  approvals: { route: 'GET /api/approvals', schema: approvals.approvalsJson },
  requestDeploy: {
    route: 'POST /api/approvals/request/:env',
    schema: approvals.approvalRequestJson,
    like: cliShapes.request.command,
  },
  approve: {
    route: 'POST /api/approvals/:id/approve',
    schema: approvals.approvedJson,
    like: cliShapes.approve.command,
  },
  signReview: { route: 'POST /api/approvals/reviews/:id/sign', schema: approvals.signOffJson },
  standing: { route: 'POST /api/approvals/schedules/:name', schema: approvals.standingJson },
  cure: { route: 'POST /api/cure', schema: poisonRecord, like: cliShapes.poisonShow.command },
  error: { route: 'Any refusal (4xx, 5xx)', schema: api.apiError },
} as const satisfies Record<string, ApiShape>;
