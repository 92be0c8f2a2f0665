import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/inventory/types.js';
import { Batcher, splitAnswers } from '../../src/lb/batch.js';
import { HaproxyDriver } from '../../src/lb/haproxy.js';
import { renderReport, StepCollector } from '../../src/pipeline/lifecycle/report.js';
import { gate, groupLine, isBoundary, leavesEnough } from '../../src/pipeline/rollout/overlap.js';
import type { Command } from '../../src/remote/tokens.js';

const node = (name: string) => ({ name, vars: {} }) as unknown as NodeSpec;
const groups = [[node('a')], [node('b')], [node('c'), node('d')], [node('e')]];

describe('the rules of overlapping groups', () => {
  it('minServing: a drain is allowed while enough stay serving, or when it shrinks nothing', () => {
    expect(leavesEnough(2, 3, 2)).toBe(true);
    expect(leavesEnough(1, 3, 2)).toBe(false);
    // Nothing serves now (a cold start): draining takes nothing away.
    expect(leavesEnough(0, 0, 2)).toBe(true);
  });

  it("the pre node's group, a group marked as a stage and the last group are boundaries", () => {
    expect(isBoundary(groups, 0, 'a')).toBe(true);
    expect(isBoundary(groups, 1, 'a')).toBe(false);
    expect(isBoundary(groups, 0, undefined)).toBe(false);
    expect(isBoundary(groups, 2, 'a', (i) => i === 2)).toBe(true);
    expect(isBoundary(groups, 3, undefined)).toBe(true);
  });

  it('the group line says when a drain overlaps the group before', () => {
    expect(groupLine(2, 4, groups[2]!)).toBe('group 3/4: c, d');
    expect(groupLine(2, 4, groups[2]!, true)).toBe("group 3/4: c, d (drain overlaps group 2's smoke test and undrain)");
  });

  it('the gate opens once every node arrived, and never for a group with a node that did not', () => {
    let opened = 0;
    const open = gate(2, () => opened++);
    open();
    expect(opened).toBe(0);
    open();
    expect(opened).toBe(1);
    let never = 0;
    gate(3, () => never++)();
    expect(never).toBe(0);
  });
});

describe('one load-balancer command per group', () => {
  it("splits HAProxy's answer to several commands into each one's own", () => {
    expect(splitAnswers('\n\n', 2)).toEqual(['', '']);
    expect(splitAnswers('\nNo such server.\n\n\n', 3)).toEqual(['', 'No such server.', '']);
    expect(splitAnswers('', 1)).toEqual([undefined]);
  });

  it('sends the calls made at the same moment as one request, in order, and answers each', async () => {
    const sent: string[][] = [];
    const batch = new Batcher<string, string>(async (commands) => {
      sent.push([...commands]);
      return commands.map((c) => c.toUpperCase());
    });
    const answers = await Promise.all(['x', 'y', 'z'].map((c) => batch.add(c)));
    expect(answers).toEqual(['X', 'Y', 'Z']);
    expect(await batch.add('w')).toBe('W');
    expect(sent).toEqual([['x', 'y', 'z'], ['w']]);
  });

  it('HAProxy: a group drained at once is one line on the socket; a refusal names its own node', async () => {
    const lines: string[] = [];
    const run = async (_c: Command, stdin?: string) => {
      lines.push(stdin!.trim());
      // HAProxy's answer: each command's own, ended by an empty line; app/c is unknown to it.
      const answers = stdin!
        .trim()
        .split(';')
        .map((l) => (l.includes('app/c ') ? 'No such server.\n\n' : '\n'));
      return { code: 0, stdout: answers.join(''), stderr: '' };
    };
    const settings = { socket: '/s', backend: 'app', serverOf: (n: NodeSpec) => n.name, now: () => new Date() };
    const driver = new HaproxyDriver(run, { ...settings, sleep: async () => undefined });
    await Promise.all(['a', 'b'].map((n) => driver.drain(node(n))));
    expect(lines).toEqual(['set server app/a state drain;set server app/b state drain']);
    const results = await Promise.allSettled(['a', 'c'].map((n) => driver.undrain(node(n))));
    expect(lines[1]).toBe('set server app/a state ready;set server app/c state ready');
    expect(results[0]!.status).toBe('fulfilled');
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/refused to set c to ready: No such server/);
    // Put back and vouched for in one line.
    await Promise.all([driver.undrain(node('a')), driver.vouch(node('a'))]);
    expect(lines[2]).toBe('set server app/a state ready;set server app/a health up');
  });
});

describe('the report shows the overlap', () => {
  it('lists the groups as the rollout said them, and when each step began', async () => {
    const steps = new StepCollector();
    steps.emit({ type: 'info', message: 'group 2/3: node2' });
    steps.emit({ type: 'step', step: 'rollout:smoke', node: 'node2', status: 'start' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    steps.emit({ type: 'info', message: "group 3/3: node3 (drain overlaps group 2's smoke test and undrain)" });
    steps.emit({ type: 'step', step: 'rollout:drain', node: 'node3', status: 'start' });
    steps.emit({ type: 'step', step: 'rollout:drain', node: 'node3', status: 'ok', ms: 3 });
    steps.emit({ type: 'step', step: 'rollout:smoke', node: 'node2', status: 'ok', ms: 40 });
    const report = renderReport({
      ...{ runId: 'r1', command: 'deploy prod v1', env: 'prod', user: 'ana', result: 'success' },
      ...{ started: new Date(0), finished: new Date(1000), rollbackCommand: 'rollback prod --last' },
      steps: steps.steps,
      groups: steps.groups,
    });
    expect(report).toContain(
      "## Groups\n\n- group 2/3: node2\n- group 3/3: node3 (drain overlaps group 2's smoke test",
    );
    const at = (node: string) =>
      Number(new RegExp(`\\| ${node} \\| rollout:\\w+ \\| ok \\| (\\d+) \\|`).exec(report)?.[1]);
    // node3's drain began while node2's smoke test ran, and ended before it.
    expect(at('node3')).toBeGreaterThanOrEqual(at('node2') + 15);
    expect(report.indexOf('| node3 | rollout:drain')).toBeLessThan(report.indexOf('| node2 | rollout:smoke'));
  });
});
