import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RelinkError } from '../../src/errors.js';
import { deploy } from '../../src/pipeline/run.js';
import { render, type Command } from '../../src/remote/tokens.js';
import type { ExecOptions, ExecResult, NodeSession, Transport } from '../../src/transport/types.js';
import { MeteredTransport } from '../../src/transport/metered.js';
import { fakeRun, SHA, checksummed } from '../helpers/fake-run.js';
import { withFanout } from '../helpers/fanout.js';

type Made = ReturnType<typeof fakeRun>;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const RELAY = { mode: 'relay' as const, seeds: 1, width: 2 };
const URL = 'https://artifacts.test/{{ release }}.tar.gz';

/** The run, with some commands answered otherwise than the fake nodes do (still recorded), or throwing. */
function answering(made: Made, answer: (node: string, command: string) => Partial<ExecResult> | undefined): Made {
  const inner = made.deps.transport;
  const transport: Transport = {
    async connect(node) {
      const session = await inner.connect(node);
      return Object.assign(Object.create(session) as NodeSession, {
        async exec(command: Command, options?: ExecOptions) {
          const recorded = await session.exec(command, options);
          const other = answer(node.name, render(command));
          return other ? { code: 0, stdout: '', stderr: '', ...other } : recorded;
        },
      });
    },
  };
  return { ...made, deps: { ...made.deps, transport } };
}

async function failure(made: Made): Promise<RelinkError> {
  const error = await deploy(made.request, made.deps, made.source).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RelinkError);
  return error as RelinkError;
}

const commands = (made: Made, node: string) => made.transport.commandsFor(node);
const relinked = (made: Made) => NODES.filter((n) => commands(made, n).some((c) => /mv -Tf.*\n?/.test(c)));
const removedEverywhere = (made: Made) =>
  NODES.every((n) => commands(made, n).some((c) => c.startsWith('rm -rf /srv/app/releases/hello_prod_v1.1.0_')));

describe('relay: node-to-node copies with a key made for the run', () => {
  it('interrupted while a key is being added: that node has the key removed again once it had time to land', async () => {
    const stop = new AbortController();
    const made = withFanout(fakeRun({ signal: stop.signal }), RELAY);
    const isAuth = (command: string) => command.includes('authorized_keys') && command.includes('printf');
    // node2's addition is interrupted: the run stops waiting for it (the node may still finish it).
    const run = answering(made, (node, command) => {
      if (node !== 'node2' || !isAuth(command)) return undefined;
      stop.abort();
      throw new Error('interrupted');
    });
    await deploy(run.request, run.deps, run.source).catch(() => undefined);
    const removals = (node: string) => commands(made, node).filter((c) => c.includes('grep -vF')).length;
    expect(removals('node2')).toBe(2);
    for (const node of NODES.filter((n) => n !== 'node2' && commands(made, n).some(isAuth)))
      expect(removals(node)).toBe(1);
  });

  const refusedToNode4 = (made: Made) =>
    answering(made, (node, command) =>
      node === 'node2' && command.includes('rsync -rlpDc') && command.includes('@10.0.0.4:')
        ? { code: 255, stderr: 'root@10.0.0.4: Permission denied (publickey).\nrsync: connection unexpectedly closed' }
        : undefined,
    );

  it('a refused copy: the node named with what to check, the key gone from every node, nothing switched', async () => {
    const run = refusedToNode4(withFanout(fakeRun(), RELAY));
    const error = await failure(run);
    expect(error.message).toMatch(
      /^distribute failed on node4: node4: relay from node2 failed \(exit 255\):.*Permission denied/,
    );
    expect(error.message).toMatch(/The new release was removed from every node; nothing was switched/);
    expect(error.hint).toMatch(
      /rollout\.fanout\.from must match the address node4 sees node2 connect from \(default: 10\.0\.0\.2\)/,
    );
    expect(relinked(run)).toEqual([]);
    expect(removedEverywhere(run)).toBe(true);
    for (const node of NODES) {
      // The key went to every node of the relay and left it again, also after the failure.
      const relay = commands(run, node).filter((c) => c.includes('relay-run42') || c.includes('authorized_keys'));
      expect(relay.at(0), node).toMatch(/authorized_keys|mkdir -m 700/);
      expect(relay.at(-1), node).toMatch(/^rm -rf \/srv\/app\/\.relink\/relay-run42 && .*grep -qsF/);
    }
  });

  it('the private key goes on stdin to the senders only, and into no command, event or message', async () => {
    const run = refusedToNode4(withFanout(fakeRun(), RELAY));
    const error = await failure(run);
    const stdin = run.transport.log.filter((r) => r.stdin?.includes('BEGIN OPENSSH PRIVATE KEY'));
    expect(stdin.map((r) => r.node).sort()).toEqual(['node1', 'node2']);
    const body = stdin[0]!.stdin!.split('\n')[1]!;
    expect(body.length).toBeGreaterThan(20);
    const everything = [
      ...run.transport.log.map((r) => r.command),
      JSON.stringify(run.events),
      error.message,
      error.hint ?? '',
    ].join('\n');
    expect(everything).not.toContain(body);
    // The receivers got the public half, restricted, in authorized_keys.
    const line = commands(run, 'node3').find((c) => c.includes('authorized_keys') && c.includes('printf'));
    expect(line).toMatch(/restrict,from="10\.0\.0\.1",expiry-time="\d{14}Z",command=/);
  });

  it('a failed copy to an inner node: its subtree is named as not reached, every key still removed', async () => {
    const run = answering(withFanout(fakeRun(), RELAY), (node, command) =>
      node === 'node1' && command.includes('@10.0.0.2:') ? { code: 12, stderr: 'No space left on device' } : undefined,
    );
    const error = await failure(run);
    expect(error.message).toMatch(
      /^distribute failed on node2 \(and 1 more node: node4\): node2: relay from node1 failed/,
    );
    expect(error.hint).toMatch(/check free disk under \/srv\/app on node2/);
    // node4 never got a copy, but its key line went in and came out again.
    expect(commands(run, 'node2').some((c) => c.includes('@10.0.0.4:'))).toBe(false);
    expect(commands(run, 'node4').at(-1)).not.toBeUndefined();
    expect(commands(run, 'node4').filter((c) => c.startsWith('rm -rf /srv/app/.relink/relay-run42'))).toHaveLength(1);
    expect(removedEverywhere(run)).toBe(true);
  });

  it('the key leaves no node before the last copy is done (nodes may share one authorized_keys)', async () => {
    const run = withFanout(fakeRun(), RELAY);
    await deploy(run.request, run.deps, run.source);
    const log = run.transport.log.map((r) => r.command);
    const lastCopy = log.findLastIndex((c) => c.includes('rsync -rlpDc'));
    const firstRemoval = log.findIndex((c) => c.startsWith('rm -rf /srv/app/.relink/relay-run42 && {'));
    expect(lastCopy).toBeGreaterThan(0);
    expect(firstRemoval).toBeGreaterThan(lastCopy);
    // Shared links and templates only after that: what each node passed on was the build as it came.
    expect(log.findIndex((c) => c.includes('ln -s /srv/app/shared/log'))).toBeGreaterThan(firstRemoval);
  });

  it('a receiver gives the files its copy wrote the commit time, before its shared links and templates', async () => {
    const made = withFanout(fakeRun(), RELAY);
    const build = made.source.build;
    const timed: typeof build = async (...args) => ({ ...(await build(...args)), commitTime: 1714979289 });
    const run = { ...made, source: { ...made.source, build: timed } };
    await deploy(run.request, run.deps, run.source);
    for (const node of ['node2', 'node3', 'node4']) {
      const sent = commands(run, node);
      const stamp = sent.findIndex(
        (c) =>
          c.startsWith('env TZ=UTC0 find /srv/app/releases/hello_prod_v1.1.0_') &&
          c.endsWith("-exec touch -c -m -t 202405060708.09 '{}' +"),
      );
      expect(stamp, node).toBeGreaterThan(-1);
      expect(sent.findIndex((c) => c.includes('ln -s /srv/app/shared/log'))).toBeGreaterThan(stamp);
    }
    // The seed unpacked the tarball, whose files carry the commit time already.
    expect(commands(run, 'node1').some((c) => c.includes('TZ=UTC0'))).toBe(false);
  });

  it('a receiver this machine has no host key for: refused before anything changes', async () => {
    const run = withFanout(fakeRun(), RELAY);
    const { knownHostsFile } = run.request.config.ssh;
    const fs = await import('node:fs');
    fs.writeFileSync(knownHostsFile, fs.readFileSync(knownHostsFile, 'utf8').replace(/^10\.0\.0\.3 .*\n/m, ''));
    const error = await failure(run);
    expect(error.message).toMatch(/relay: no host key for node3 \(10\.0\.0\.3\) in .*known_hosts/);
    for (const node of NODES) {
      expect(commands(run, node).filter((c) => /authorized_keys|relay-run42|tar -xzf/.test(c))).toEqual([]);
    }
    expect(run.transport.log.filter((r) => r.kind === 'upload')).toEqual([]);
  });
});

describe('pull: nodes fetch the tarball and check its sha256', () => {
  it('a fetch that fails on one node names it, the URL and how to check it from there', async () => {
    const run = answering(withFanout(fakeRun(), { mode: 'pull', url: URL }), (node, command) =>
      node === 'node2' && command.includes('curl -fsSL')
        ? { code: 22, stderr: 'curl: (22) The requested URL returned error: 404' }
        : undefined,
    );
    const error = await failure(run);
    expect(error.message).toMatch(
      /^distribute failed on node2: node2: fetching https:\/\/artifacts\.test\/\S+ failed \(exit 22\): curl.* 404/,
    );
    expect(error.hint).toMatch(
      /from node2: curl -fsSI https:\/\/artifacts\.test\/.*; publish it with rollout\.fanout\.publish/,
    );
    expect(relinked(run)).toEqual([]);
    expect(removedEverywhere(run)).toBe(true);
  });

  it("a tarball whose sha256 is not the build's is never unpacked there", async () => {
    const run = answering(withFanout(fakeRun(), { mode: 'pull', url: URL }), (node, command) =>
      node === 'node3' && checksummed(command) ? { stdout: `${'cd'.repeat(32)}  file\n` } : undefined,
    );
    const error = await failure(run);
    expect(error.message).toMatch(
      /node3: the tarball fetched from https:\/\/\S+ has sha256 (cd){8}…, not the build's (ab){8}…/,
    );
    expect(error.hint).toMatch(/publish this build again/);
    expect(commands(run, 'node3').some((c) => c.includes('tar -xzf'))).toBe(false);
  });

  it('a failed publish stops before any node fetches', async () => {
    const run = withFanout(fakeRun(), { mode: 'pull', url: URL, publish: 'echo cannot reach the store >&2; exit 3' });
    const error = await failure(run);
    expect(error.message).toMatch(/^publish failed \(exit 3\): cannot reach the store/);
    for (const node of NODES) expect(commands(run, node).some((c) => c.includes('curl'))).toBe(false);
  });
});

describe('what distribute sent from this machine', () => {
  /** A run whose tarball is a real 100 kB file, through the meter the CLI puts around its transport. */
  function metered(made: Made) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-metered-'));
    const file = path.join(dir, 'a.tar.gz');
    fs.writeFileSync(file, Buffer.alloc(100_000, 7));
    const transport = new MeteredTransport(made.deps.transport);
    const build = async () => ({ file, sha256: SHA, bytes: 100_000, cached: false });
    const stateDir = path.join(dir, '.relink');
    const request = { ...made.request, stateDir };
    return { ...made, request, source: { ...made.source, build }, deps: { ...made.deps, transport }, dir };
  }
  const said = (made: Made) =>
    made.events.flatMap((e) => (e.type === 'info' && e.message.startsWith('distribute (') ? [e.message] : []));

  it('push: the tarball to every node; relay: to the seeds only; pull: commands only; the report says it too', async () => {
    const sent: Record<string, number> = {};
    for (const [mode, made] of [
      ['push', metered(fakeRun())],
      ['relay', metered(withFanout(fakeRun(), { mode: 'relay', seeds: 1, width: 3 }))],
      ['pull', metered(withFanout(fakeRun(), { mode: 'pull', url: URL }))],
    ] as const) {
      await deploy(made.request, made.deps, made.source);
      const [line] = said(made);
      expect(line).toMatch(
        /^distribute \((push|relay, seeds 1, width 3|pull)\): sent [\d.]+ [kM]B from this machine to 4 node\(s\)$/,
      );
      const [, amount, unit] = line!.match(/sent ([\d.]+) ([kM])B/)!;
      sent[mode] = Number(amount) * (unit === 'M' ? 1e6 : 1e3);
      const report = fs.readFileSync(path.join(made.dir, '.relink', 'reports', 'run42.md'), 'utf8');
      expect(report).toMatch(/\| sent from this machine \| \d+\.\d MB \|/);
      fs.rmSync(made.dir, { recursive: true, force: true });
    }
    expect(sent.push).toBeGreaterThanOrEqual(400_000);
    expect(sent.relay).toBeGreaterThanOrEqual(100_000);
    expect(sent.relay).toBeLessThan(200_000);
    expect(sent.pull).toBeLessThan(100_000);
  });
});
