// deploy exec through the recording transport: which commands reach which node, in what order, with what
// deadline; the lines handed on; the exit codes; the refusal under a held deploy lock; the journal lines.
import { describe, expect, it } from 'vitest';
import { execExitCode } from '../../src/app/exec.js';
import { type ExecSpec, execOnNodes, type NodeExec } from '../../src/app/exec-run.js';
import { hintOf } from '../../src/app/phrase.js';
import { EXIT, LockError } from '../../src/errors.js';
import { makeContext } from '../../src/pipeline/context.js';
import { SECTION } from '../../src/remote/inspect.js';
import type { ExecOptions, NodeSession, Transport } from '../../src/transport/types.js';
import { fakeRun, OLD } from '../helpers/fake-run.js';
import { RecordingTransport, type Responder } from '../helpers/recording.js';

const NODES = ['node1', 'node2', 'node3', 'node4'];

function owner(kind: 'run' | 'freeze', heartbeat = '2026-11-21T16:59:50Z'): string {
  return JSON.stringify({
    run: 'run77',
    kind,
    user: 'bo',
    host: 'ci',
    pid: 1,
    command: 'deploy prod v9',
    since: heartbeat,
    heartbeat,
    message: 'hands off',
  });
}

interface Setup {
  /** What the user's command answers on a node (called with the options, to stream through). */
  run?: (node: string, options: ExecOptions) => { code?: number; stdout?: string; stderr?: string } | undefined;
  /** A node's lock owner record. */
  lock?: (node: string) => string | undefined;
  /** Nodes with nothing deployed. */
  cold?: readonly string[];
  down?: readonly string[];
  signal?: AbortSignal;
  /** Wraps the transport (to hold commands in flight). */
  wrap?: (t: Transport) => Transport;
}

function setup(s: Setup = {}) {
  const base = fakeRun();
  const respond: Responder = (node, command, options) => {
    if (command.startsWith('readlink /srv/app/current || true ;')) {
      const current = s.cold?.includes(node) ? '' : `releases/${OLD}\n`;
      const onDisk = s.cold?.includes(node) ? '' : `${OLD}\n`;
      return { stdout: `${current}${SECTION}\n${onDisk}${SECTION}\n${s.lock?.(node) ?? ''}\n${SECTION}\n` };
    }
    if (command.includes(' sh -c ')) return s.run?.(node, options);
    return undefined;
  };
  const transport = new RecordingTransport(respond, (node) =>
    s.down?.includes(node) ? new Error(`connect ECONNREFUSED ${node}:22\nmore`) : undefined,
  );
  const deps = { ...base.deps, transport: s.wrap ? s.wrap(transport) : transport, signal: s.signal };
  const { config, inventory } = base.request;
  const ctx = makeContext({ runId: 'exec1', command: 'exec', config, inventory, user: 'ana', deps });
  const lines: string[] = [];
  const exec = (spec: Partial<ExecSpec> = {}, nodes = inventory.hosts) =>
    execOnNodes(
      ctx,
      nodes,
      { line: 'uname -a', in: 'deployTo', timeoutMs: 60_000, force: false, parallel: 10, ...spec },
      (node, stream, line) => lines.push(`${node} ${stream} ${line}`),
    );
  const journal = (node: string) =>
    transport.commandsFor(node).filter((c) => c.includes('journal.jsonl') && c.includes('"event":"exec"'));
  const userCommands = (node: string) => transport.commandsFor(node).filter((c) => c.includes(' sh -c '));
  return { ctx, transport, events: base.events, deps, lines, exec, journal, userCommands };
}

const ran = (r: NodeExec) => (r.ran ? r.code : r.error);

describe('deploy exec on the nodes', () => {
  it('runs the command in deployTo on every node, under its deadline, and journals who, what and its exit code', async () => {
    const deadlines: number[] = [];
    const t = setup({
      run: (node, options) => {
        deadlines.push(options.timeoutMs);
        options.onStdout?.(`Linux ${node} 6.1`);
        options.onStdout?.(' x86_64\n');
        return { stdout: `Linux ${node} 6.1 x86_64\n` };
      },
    });
    const outcome = await t.exec();
    expect(outcome.ok).toBe(true);
    expect(execExitCode(outcome)).toBe(EXIT.ok);
    expect(outcome.nodes.map(ran)).toEqual([0, 0, 0, 0]);
    expect(deadlines).toEqual([60_000, 60_000, 60_000, 60_000]);
    expect(t.lines.sort()).toEqual(NODES.map((n) => `${n} stdout Linux ${n} 6.1 x86_64`));
    for (const node of NODES) {
      expect(t.userCommands(node)).toEqual([
        `cd /srv/app && exec env RELINK_PROJECT=hello RELINK_ENV=prod RELINK_DEPLOY_TO=/srv/app RELINK_NODE=${node} sh -c 'uname -a'`,
      ]);
      const [line] = t.journal(node);
      expect(line).toMatch(/"event":"exec"/);
      expect(line).toMatch(/"user":"ana"/);
      expect(line).toMatch(/"command":"uname -a","code":0/);
      expect(t.journal(node)).toHaveLength(1);
    }
  });

  it('keeps each node its own lines, stdout and stderr apart, a line cut between chunks whole', async () => {
    const t = setup({
      run: (node, options) => {
        options.onStderr?.(`warn from ${node}: par`);
        options.onStdout?.('one\ntw');
        options.onStderr?.('tial\n');
        options.onStdout?.('o');
        return { code: 0 };
      },
    });
    await t.exec({}, t.ctx.inventory.hosts.slice(0, 2));
    expect(t.lines.sort()).toEqual([
      'node1 stderr warn from node1: partial',
      'node1 stdout one',
      'node1 stdout two',
      'node2 stderr warn from node2: partial',
      'node2 stdout one',
      'node2 stdout two',
    ]);
  });

  it('exits non-zero when one node fails, naming it and its code; the others ran and are journaled too', async () => {
    const t = setup({ run: (node) => (node === 'node3' ? { code: 3, stderr: 'no such file\n' } : undefined) });
    const outcome = await t.exec();
    expect(outcome.ok).toBe(false);
    expect(execExitCode(outcome)).toBe(EXIT.failed);
    expect(outcome.nodes.map(ran)).toEqual([0, 0, 3, 0]);
    expect(outcome.nodes[2]).toMatchObject({ node: 'node3', stderr: 'no such file\n', timedOut: false });
    expect(t.journal('node3')[0]).toMatch(/"code":3/);
    expect(t.journal('node1')[0]).toMatch(/"code":0/);
  });

  it('says a node ran out of its deadline, and one it could not reach; the rest run', async () => {
    const t = setup({
      down: ['node4'],
      run: (node) => {
        if (node !== 'node2') return undefined;
        // The node's `timeout` ends it at the deadline: exit 124, once the deadline has passed.
        const end = performance.now() + 5;
        while (performance.now() < end);
        return { code: 124 };
      },
    });
    const outcome = await t.exec({ timeoutMs: 2 });
    expect(outcome.nodes.map(ran)).toEqual([0, 124, 0, 'unreachable: connect ECONNREFUSED node4:22']);
    expect(outcome.nodes[1]).toMatchObject({ timedOut: true });
    expect(t.userCommands('node4')).toEqual([]);
    expect(execExitCode(outcome)).toBe(EXIT.failed);
    // A command that exits 124 itself, well before its deadline, did not time out.
    const own = await setup({ run: () => ({ code: 124 }) }).exec({}, t.ctx.inventory.hosts.slice(0, 1));
    expect(own.nodes[0]).toMatchObject({ code: 124, timedOut: false });
  });

  it('runs at most `parallel` nodes at once', async () => {
    let inFlight = 0;
    let most = 0;
    const wrap = (inner: Transport): Transport => ({
      async connect(node) {
        const s = await inner.connect(node);
        const session: NodeSession = {
          ...s,
          async exec(command, options) {
            const user = command.some((t) => t === 'sh');
            inFlight += user ? 1 : 0;
            most = Math.max(most, inFlight);
            if (user) await new Promise((r) => setTimeout(r, 20));
            const result = await s.exec(command, options);
            inFlight -= user ? 1 : 0;
            return result;
          },
        };
        return session;
      },
    });
    const outcome = await setup({ wrap }).exec({ parallel: 2 });
    expect(outcome.ok).toBe(true);
    expect(most).toBe(2);
  });

  it('redacts secrets in its lines, its output and its journal line', async () => {
    const t = setup({
      run: (_node, options) => {
        options.onStdout?.('token=s3cret-value\n');
        return { stdout: 'token=s3cret-value\n' };
      },
    });
    t.deps.redactor.add('s3cret-value');
    const outcome = await t.exec({ line: 'echo s3cret-value' }, t.ctx.inventory.hosts.slice(0, 1));
    expect(t.lines).toEqual(['node1 stdout token=[REDACTED]']);
    expect(outcome.nodes[0]).toMatchObject({ stdout: 'token=[REDACTED]\n' });
    expect(t.journal('node1')[0]).toMatch(/"command":"echo \[REDACTED\]"/);
    expect(t.journal('node1')[0]).not.toMatch(/s3cret/);
  });

  it('runs in the current release with --in current; a node with nothing deployed gets its own error', async () => {
    const t = setup({ cold: ['node2'] });
    const outcome = await t.exec({ in: 'current' });
    expect(outcome.nodes.map(ran)).toEqual([0, 'no current release on node2: nothing is deployed there yet', 0, 0]);
    expect(outcome.nodes[0]).toMatchObject({ release: OLD });
    expect(t.userCommands('node1')[0]).toMatch(
      new RegExp(`^cd /srv/app/releases/${OLD} && exec env .* RELINK_NODE=node1 RELINK_RELEASE=${OLD} sh -c`),
    );
    expect(t.userCommands('node2')).toEqual([]);
    expect(t.journal('node2')).toEqual([]);
    expect(t.journal('node1')[0]).toMatch(new RegExp(`"release":"${OLD}`));
    expect(execExitCode(outcome)).toBe(EXIT.failed);
  });
});

describe('deploy exec and the deploy lock', () => {
  for (const kind of ['run', 'freeze'] as const) {
    it(`is refused on every node while a ${kind} holds it on one (exit 4), naming who, with the way past`, async () => {
      const t = setup({ lock: (node) => (node === 'node3' ? owner(kind) : undefined) });
      const error = await t.exec().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockError);
      expect((error as LockError).exitCode).toBe(EXIT.lock);
      expect((error as LockError).message).toMatch(/the deploy lock of prod is held; nothing was run:\n {2}node3: /);
      expect((error as LockError).message).toMatch(kind === 'run' ? /bo on ci .*deploy prod v9/ : /a freeze by bo/);
      expect(hintOf(error as LockError)).toBe(
        'wait for it (deploy lock status prod), or run the command beside it: add --force',
      );
      for (const node of NODES) {
        expect(t.userCommands(node)).toEqual([]);
        expect(t.journal(node)).toEqual([]);
        // Read, never taken: exec does not write the lock.
        expect(t.transport.commandsFor(node).some((c) => c.includes('mkdir /srv/app/.relink/lock'))).toBe(false);
      }
    });
  }

  it('runs beside a held lock with --force, warning, and journals whose lock it ran beside', async () => {
    const t = setup({ lock: (node) => (node === 'node3' ? owner('run') : undefined) });
    const outcome = await t.exec({ force: true });
    expect(outcome.ok).toBe(true);
    expect(t.events).toContainEqual(
      expect.objectContaining({
        type: 'warn',
        node: 'node3',
        message: expect.stringMatching(/^running beside the deploy lock \(--force\): bo on ci/),
      }),
    );
    expect(t.journal('node3')[0]).toMatch(/"reason":"run beside the deploy lock \(--force\): bo on ci/);
    expect(t.journal('node1')[0]).not.toMatch(/reason/);
  });

  it('is not held by a run that is gone (no heartbeat within lock.ttlMs): it runs, with a warning', async () => {
    const t = setup({ lock: (node) => (node === 'node2' ? owner('run', '2026-11-21T16:00:00Z') : undefined) });
    const outcome = await t.exec();
    expect(outcome.ok).toBe(true);
    expect(t.events).toContainEqual(
      expect.objectContaining({
        type: 'warn',
        node: 'node2',
        message: expect.stringMatching(/^the deploy lock's run is gone: .*STALE/),
      }),
    );
  });
});

describe('deploy exec interrupted', () => {
  it('ends the command on every node with the abort signal, runs no node after it, and exits 130', async () => {
    const controller = new AbortController();
    const signals: (AbortSignal | undefined)[] = [];
    const t = setup({
      signal: controller.signal,
      run: (node, options) => {
        signals.push(options.signal);
        if (node === 'node1') controller.abort('SIGINT');
        return node === 'node1' ? { code: 130, stderr: 'interrupted' } : undefined;
      },
    });
    const outcome = await t.exec({ parallel: 1 });
    expect(signals[0]).toBe(controller.signal);
    expect(outcome.nodes.map(ran)).toEqual([
      130,
      'not run: interrupted',
      'not run: interrupted',
      'not run: interrupted',
    ]);
    expect(outcome.nodes[0]).toMatchObject({ interrupted: true });
    expect(outcome.interrupted).toBe(true);
    expect(execExitCode(outcome)).toBe(EXIT.interrupted);
    // Journaled although interrupted: the journal line is never cut short.
    expect(t.journal('node1')[0]).toMatch(/"code":130/);
    expect(t.userCommands('node2')).toEqual([]);
  });
});
