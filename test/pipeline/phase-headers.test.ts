import { describe, expect, it } from 'vitest';
import { LockError } from '../../src/errors.js';
import type { RunEvent } from '../../src/log/events.js';
import { Redactor } from '../../src/log/redact.js';
import { LineReporter, phaseOf } from '../../src/log/reporter.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun } from '../helpers/fake-run.js';

/**
 * Each finished step paired with the phase the pipeline announced last before it
 * (`build (started with the connections)` announces `build`), and every
 * phase announced, in order.
 */
function phases(events: readonly RunEvent[]) {
  let announced: string | undefined;
  const steps: { step: string; status: string; under?: string }[] = [];
  const headers: string[] = [];
  for (const e of events) {
    if (e.type === 'phase') {
      announced = e.phase.split(/[\s:]/)[0]!;
      headers.push(announced);
    }
    if (e.type === 'step' && e.status !== 'start') steps.push({ step: e.step, status: e.status, under: announced });
  }
  return { steps, headers };
}

const underOwnPhase = (s: { step: string; under?: string }) => `${s.step} under ${phaseOf(s.step)}`;
const asAnnounced = (s: { step: string; under?: string }) => `${s.step} under ${s.under}`;

describe('the phases a run announces say what runs under them', () => {
  it('a deploy announces plan, gates, build, distribute, rollout, finish, each before its own steps', async () => {
    const run = fakeRun();
    await deploy(run.request, run.deps, run.source);
    const { steps, headers } = phases(run.events);
    expect(headers).toEqual(['plan', 'gates', 'build', 'distribute', 'rollout', 'finish']);
    expect(steps.map((s) => s.step)).toContain('plan:connect');
    expect(steps.map(asAnnounced)).toEqual(steps.map(underOwnPhase));
  });

  it('a lock held by a freeze: gates:lock fails under gates, after every plan step', async () => {
    const freeze = JSON.stringify({
      run: 'f1',
      kind: 'freeze',
      user: 'ana',
      host: 'elsewhere',
      pid: 1,
      command: 'lock prod',
      message: 'change freeze',
      since: '2026-11-21T16:00:00Z',
      heartbeat: '2026-11-21T16:00:00Z',
    });
    const run = fakeRun({
      answer: (_node, command) => {
        if (command.startsWith('cat /srv/app/.relink/lock/owner.json')) return { stdout: `${freeze}\n` };
        if (command.includes('mkdir /srv/app/.relink/lock')) return { code: 1 };
        return undefined;
      },
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as Error).message).toMatch(/held \(node1\) by a freeze by ana/);
    const { steps } = phases(run.events);
    expect(steps.at(-1)).toEqual({ step: 'gates:lock', status: 'fail', under: 'gates' });
    expect(steps.map(asAnnounced)).toEqual(steps.map(underOwnPhase));
  });

  it("a deploy that fails in group 2 announces the rollback before the rollback's steps", async () => {
    const run = fakeRun({ fail: (node, cmd) => (node === 'node2' && cmd.includes('restart.sh') ? 1 : undefined) });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow();
    const { steps, headers } = phases(run.events);
    expect(headers.at(-1)).toBe('rollback');
    expect(steps.filter((s) => s.step.startsWith('rollback:')).length).toBeGreaterThan(0);
    expect(steps.map(asAnnounced)).toEqual(steps.map(underOwnPhase));
  });

  it("a rollback, which announces only its rollout, prints every step line under its phase's header", async () => {
    const [r0, r1] = ['hello_prod_v1.0.0_main_20261101-120000_ana', 'hello_prod_v1.1.0_main_20261110-120000_ana'];
    const line = (run: string, event: string, release: string, version: string, ts: string) =>
      JSON.stringify({ v: 1, ts, run, node: 'x', env: 'prod', user: 'ana', event, release, version, commit: 'c' });
    const journal = [
      line('a', 'activated', r0, 'v1.0.0', '2026-11-01T12:00:00Z'),
      line('a', 'smoke_ok', r0, 'v1.0.0', '2026-11-01T12:00:01Z'),
      line('b', 'activated', r1, 'v1.1.0', '2026-11-10T12:00:00Z'),
      line('b', 'smoke_ok', r1, 'v1.1.0', '2026-11-10T12:00:01Z'),
    ].join('\n');
    const state = `releases/${r1}\n${SECTION}\n${r0}\n${r1}\n${SECTION}\n${SECTION}\n${journal}\n`;
    const run = fakeRun({
      answer: (_node, command) => (command.includes('readlink /srv/app/current') ? { stdout: state } : undefined),
    });
    await rollback({ ...run.request, target: { kind: 'last' } }, run.deps);
    let out = '';
    const printer = new LineReporter({ write: (s: string) => (out += s) } as NodeJS.WritableStream, new Redactor());
    for (const e of run.events) printer.emit(e);
    const lines = out.split('\n');
    let header: string | undefined;
    const placed = lines.flatMap((line) => {
      header = /^== ([^\s:]+)/.exec(line)?.[1] ?? header;
      const step = /^\S+ +(\S+) +(ok|FAIL|skip) /.exec(line)?.[1];
      return step ? [`${step} under ${header}`] : [];
    });
    expect(placed).toContainEqual('gates:lock under gates');
    expect(placed).toContainEqual('rollback:relink under rollback');
    expect(placed).toEqual(placed.map((p) => `${p.split(' ')[0]} under ${phaseOf(p.split(' ')[0]!)}`));
  });
});
