import crypto from 'node:crypto';
import fs from 'node:fs';
import { resolveConfig } from '../../src/config/load.js';
import { validateInventory, validateUserConfig } from '../../src/config/validate.js';
import type { RunEvent } from '../../src/log/events.js';
import { Redactor } from '../../src/log/redact.js';
import { phrase } from '../../src/app/phrase.js';
import type { RunDeps, VersionInfo } from '../../src/pipeline/context.js';
import type { DeployRequest } from '../../src/pipeline/run.js';
import type { Source } from '../../src/pipeline/shared/source.js';
import { RecordingTransport, type Responder } from './recording.js';
import { SECTION } from '../../src/remote/inspect.js';
import { NO_SETTINGS } from '../../src/remote/release-settings.js';

export const SHA = 'ab'.repeat(32);
export const OLD = 'hello_prod_v1.0.0_main_20261101-120000_ana';
/** The commit of OLD in the nodes' journals. */
export const OLD_COMMIT = 'c0'.repeat(20);

const oldJournal = ['unpacked', 'activated', 'smoke_ok']
  .map((event, i) =>
    JSON.stringify({
      v: 1,
      ts: `2026-11-01T12:00:0${i}Z`,
      run: 'old-run',
      node: 'x',
      env: 'prod',
      user: 'ana',
      event,
      release: OLD,
      version: 'v1.0.0',
      commit: OLD_COMMIT,
    }),
  )
  .join('\n');

export interface FakeOptions {
  nodes?: number;
  groupSize?: number | string;
  /** Exit code for a command on a node, or undefined for the default answer. */
  fail?: (node: string, command: string) => number | undefined;
  /** Nodes whose smoke check answers 500. */
  unhealthy?: (node: string, url: string) => boolean;
  onFailure?: 'rollback' | 'halt';
  maxFailures?: number | `${number}%`;
  /** Nodes that refuse the connection. */
  down?: readonly string[];
  /** The error a node's connect fails with, when it is one of `down`. */
  downWith?: (node: string) => Error;
  signal?: AbortSignal;
  /** Every node empty: nothing deployed yet (a cold start). */
  cold?: boolean;
  /** An answer of its own for a command on a node (stdout, code), before the default answers. */
  answer?: (node: string, command: string) => { code?: number; stdout?: string; stderr?: string } | undefined;
  /** Called for every recorded command; lets a test abort mid-run. */
  onCommand?: (node: string, command: string) => void;
  /** The config's shared entries (default: dirs ['log']). */
  shared?: { dirs?: string[]; files?: string[] };
  /** Config keys set over the defaults (`restart: undefined` takes the restart command away). */
  config?: Record<string, unknown>;
  /** Settings files already on the nodes, by `node/release` (what distribute writes is added as it goes). */
  settings?: Record<string, string>;
}

export function fakeRun(options: FakeOptions = {}) {
  const count = options.nodes ?? 4;
  const user = validateUserConfig(
    {
      project: 'hello',
      repo: '/nowhere',
      deployTo: '/srv/app',
      restart: { command: 'sh bin/restart.sh' },
      smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', retries: 2, intervalMs: 0 },
      shared: options.shared ?? { dirs: ['log'] },
      rollout: { onFailure: options.onFailure ?? 'rollback', maxFailures: options.maxFailures },
      ...options.config,
    },
    'deploy.config.ts',
  );
  const config = resolveConfig(user, 'prod', '/tmp/relink-fake/deploy.config.ts');
  const inventory = validateInventory(
    {
      pre: 'node1',
      groupSize: options.groupSize ?? 1,
      hosts: Array.from({ length: count }, (_, i) => ({
        name: `node${i + 1}`,
        address: `10.0.0.${i + 1}`,
        vars: { appPort: 8100 + i + 1 },
      })),
    },
    'prod',
    'hosts/prod.yaml',
  );
  // What each node runs, from the relinks seen: the fake probe answers with it.
  const running = new Map<string, string>();
  // The settings file each release keeps (distribute writes it on stdin; a rollback reads it back).
  const kept = new Map(Object.entries(options.settings ?? {}));
  const respond: Responder = (node, command, { stdin }) => {
    options.onCommand?.(node, command);
    const settings = command.match(/releases\/([^/ ]+)\/\.relink\/settings\.json/)?.[1];
    if (settings && command.includes('relink-tmp') && options.fail?.(node, command) === undefined) {
      kept.set(`${node}/${settings}`, stdin ?? '');
      return undefined;
    }
    if (settings && command.startsWith('{ test -f') && options.fail?.(node, command) === undefined)
      return { stdout: kept.get(`${node}/${settings}`) ?? `${NO_SETTINGS}\n` };
    const relinked = command.match(/mv -Tf .*/) ? command.match(/releases\/hello_prod_(v[\d.]+)_/)?.[1] : undefined;
    if (relinked && options.fail?.(node, command) === undefined) running.set(node, relinked);
    const code = options.fail?.(node, command);
    if (code !== undefined) return { code, stderr: `injected failure on ${node}` };
    const custom = options.answer?.(node, command);
    if (custom) return custom;
    if (command.includes('readlink /srv/app/current || true ;') && options.cold) {
      return { stdout: `${SECTION}\n${SECTION}\n${SECTION}\n` };
    }
    if (command.includes('readlink /srv/app/current || true ;')) {
      return { stdout: `releases/${OLD}\n${SECTION}\n${OLD}\n${SECTION}\n${SECTION}\n${oldJournal}\n` };
    }
    // A delta tar (distribution/delta.ts) is checked against the file this machine uploaded.
    const file = checksummed(command);
    if (file?.endsWith('.delta.tar.gz')) return { stdout: `${uploadedSum(node, file)}  ${file}\n` };
    if (file) return { stdout: `${SHA}  file\n` };
    // The shared check: every shared file is there, every link of the running release still a link.
    const files = [...command.matchAll(/'F (\d+) ok'/g)].map((m) => `F ${m[1]} ok\n`);
    if (files.length) return { stdout: files.join('') };
    return undefined;
  };
  const refuse = (node: string) =>
    options.down?.includes(node)
      ? (options.downWith?.(node) ?? new Error(`connect ECONNREFUSED ${node}:22`))
      : undefined;
  const transport = new RecordingTransport(respond, refuse);
  const uploadedSum = (node: string, remote: string) => {
    const sent = transport.log.findLast((r) => r.node === node && r.kind === 'upload' && r.command.endsWith(remote));
    const local = sent?.command.split(' -> ')[0];
    return local ? crypto.createHash('sha256').update(fs.readFileSync(local)).digest('hex') : 'none';
  };
  const events: RunEvent[] = [];
  const probes: string[] = [];
  const deps: RunDeps = {
    transport,
    probe: async (url) => {
      probes.push(url);
      const node = `node${Number(url.split(':')[2]!.slice(0, 4)) - 8100}`;
      const version = running.get(node) ?? 'v1.0.0';
      if (version === 'v1.1.0' && options.unhealthy?.(node, url)) return { status: 500, body: 'down' };
      return { status: 200, body: `{"version":"${version}"}` };
    },
    now: () => new Date('2026-11-21T17:00:00Z'),
    sleep: async () => undefined,
    reporter: { emit: (e) => events.push(e), close: () => undefined },
    redactor: new Redactor(),
    phrase,
    signal: options.signal,
  };
  const version: VersionInfo = {
    requested: 'v1.1.0',
    version: 'v1.1.0',
    commit: 'c1'.repeat(20),
    branch: 'main',
    isTag: true,
    subject: 'feature',
  };
  const source: Source = {
    resolve: async () => version,
    build: async () => ({ file: '/tmp/relink-fake/a.tar.gz', sha256: SHA, bytes: 1000, cached: false }),
    log: async () => [],
    check: async () => [],
    inspect: async () => undefined,
  };
  const request: DeployRequest = {
    config,
    inventory,
    version: 'v1.1.0',
    user: 'ana',
    runId: 'run42',
    stateDir: '/tmp/relink-fake/.relink',
    secrets: {},
    localLock: false,
  };
  return { transport, deps, source, request, events, probes, kept };
}

/** Short labels for a node's commands, enough to assert order. */
/** The file a checksum command (remote/release.ts: OpenSSL's sha256, else sha256sum's) hashes, if it is one. */
export function checksummed(command: string): string | undefined {
  return /^\{ command -v openssl >\/dev\/null && openssl dgst -sha256 -r (\S+) ; \} \|\| sha256sum -- \1$/.exec(
    command,
  )?.[1];
}

export function label(command: string): string {
  if (command.startsWith('readlink /srv/app/current || true ;')) return 'inspect';
  if (command.includes('mkdir /srv/app/.relink/lock')) return command.includes('readlink') ? 'lock+inspect' : 'lock';
  if (command.startsWith('grep -qF')) return 'unlock';
  if (command.startsWith('mkdir -p /srv/app/.relink/incoming')) return 'writable';
  if (checksummed(command)) return 'verify';
  if (command.includes('tar -xzf')) return 'unpack';
  if (command.includes("'L 0 %s %Y %F'") || command.includes("'F 0 ok'")) return 'shared-check';
  if (command.includes('mv -T --')) return 'adopt';
  if (command.includes('ln -s /srv/app/shared/log')) return 'shared';
  if (command.includes('.relink/settings.json.relink-tmp')) return 'settings';
  if (command.includes('.relink/settings.json')) return `read-settings:${command.match(/hello_prod_(v[\d.]+)/)?.[1]}`;
  const events = () => [...command.matchAll(/\\?"event\\?":\\?"(\w+)/g)].map((m) => m[1]).join('+');
  if (command.includes('mv -Tf'))
    return `relink:${command.match(/releases\/(hello_prod_v[\d.]+)/)?.[1]}${command.includes('journal.jsonl') ? `+journal:${events()}` : ''}`;
  if (command.includes('journal.jsonl') && command.includes('grep -qF')) return `journal:${events()}+unlock`;
  if (command.includes('sh bin/restart.sh')) return 'restart';
  if (command.includes('journal.jsonl')) return `journal:${events()}`;
  if (command.startsWith('rm -rf /srv/app/releases/')) return 'remove';
  if (command.includes('rm -f /srv/app/current')) return 'unlink';
  return command;
}

/** A journal line of a node, as relink writes it (node `x`, env prod, user ana, one fixed commit). */
export const journalLine = (run: string, event: string, release: string, version: string, ts: string) =>
  JSON.stringify({
    v: 1,
    ts,
    run,
    node: 'x',
    env: 'prod',
    user: 'ana',
    event,
    release,
    version,
    commit: 'c0'.repeat(20),
  });

/** Global order of relinks across nodes: `node1:hello_prod_v1.1.0`. */
export function relinks(run: ReturnType<typeof fakeRun>): string[] {
  return run.transport.log
    .filter((r) => r.kind === 'exec' && r.command.includes('mv -Tf'))
    .map((r) => `${r.node}:${label(r.command).split(':')[1]!.split('+')[0]}`);
}

/** The nodes' journal lines of an event, as the run appended them. */
export function journaled(
  run: ReturnType<typeof fakeRun>,
  event: string,
): { node: string; line: Record<string, unknown> }[] {
  return run.transport.log
    .filter((r) => r.kind === 'exec' && r.command.includes(`"event":"${event}"`))
    .flatMap((r) =>
      [...r.command.matchAll(/\{"v":1[^']*?\}(?=\\n|'|$)/g)]
        .map((m) => JSON.parse(m[0]) as Record<string, unknown>)
        .filter((line) => line.event === event)
        .map((line) => ({ node: r.node, line })),
    );
}
