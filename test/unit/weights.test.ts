// The canary's traffic steps: the share -> weights arithmetic within each load balancer's range, and the
// drivers' weights set and put back (HAProxy's `get weight`/`set weight`, nginx's `weight=`).
import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/inventory/types.js';
import { HaproxyDriver } from '../../src/lb/haproxy.js';
import { NginxDriver, setWeight, weightsIn } from '../../src/lb/nginx.js';
import { parseWeight, shareText, stepWeights, WEIGHT_RANGES } from '../../src/lb/weights.js';
import { render, type Command } from '../../src/remote/tokens.js';

const HAPROXY = WEIGHT_RANGES.haproxy!;
const NGINX = WEIGHT_RANGES.nginx!;

describe('traffic step weights', () => {
  it('gives the canary servers the share asked, exactly where integers allow, with the smallest weights', () => {
    // 1 canary against 3 others: 5% is 3 against 19 (3 / (3 + 57)).
    expect(stepWeights(5, 1, 3, HAPROXY)).toEqual({ canary: 3, others: 19, share: 5 });
    expect(stepWeights(25, 1, 3, HAPROXY)).toEqual({ canary: 1, others: 1, share: 25 });
    expect(stepWeights(50, 1, 3, HAPROXY)).toEqual({ canary: 3, others: 1, share: 50 });
    expect(stepWeights(10, 1, 3, HAPROXY)).toEqual({ canary: 1, others: 3, share: 10 });
    expect(stepWeights(10, 2, 8, HAPROXY)).toEqual({ canary: 4, others: 9, share: 10 });
    for (const percent of [1, 5, 10, 20, 25, 33, 50, 75, 90, 99]) {
      for (const [c, o] of [
        [1, 3],
        [1, 9],
        [2, 10],
        [3, 97],
      ] as const) {
        const w = stepWeights(percent, c, o, HAPROXY);
        expect(w.share).toBeCloseTo((100 * c * w.canary) / (c * w.canary + o * w.others), 9);
        // Within what integers give, unless the share lies past 256 against 1 (the nearest then).
        if (w.canary < 256) expect(Math.abs(w.share - percent)).toBeLessThan(0.3);
        else expect(w.others).toBe(1);
        expect(w.canary).toBeGreaterThanOrEqual(1);
        expect(w.others).toBeGreaterThanOrEqual(1);
        expect(Math.max(w.canary, w.others)).toBeLessThanOrEqual(256);
      }
    }
  });

  it('keeps to the range, the others at least 1 even at 100% (a canary that goes down leaves them to serve)', () => {
    const all = stepWeights(100, 1, 3, HAPROXY);
    expect(all).toMatchObject({ canary: 256, others: 1 });
    expect(shareText(all.share)).toBe('98.8%');
    // Below 100% the others keep a weight of at least 1: 99% of 1 against 9 is as near as 256 against 1.
    expect(stepWeights(99, 1, 9, HAPROXY)).toMatchObject({ canary: 256, others: 1 });
    const nginx = stepWeights(100, 1, 3, NGINX);
    expect(nginx).toMatchObject({ canary: 256, others: 1 });
    expect(shareText(nginx.share)).toBe('98.8%');
    // A share below what 256 against 1 can give: the nearest, never a canary at 0.
    const tiny = stepWeights(0.01, 1, 3, HAPROXY);
    expect(tiny).toMatchObject({ canary: 1, others: 256 });
    expect(shareText(tiny.share)).toBe('0.13%');
    expect(() => stepWeights(0, 1, 3, HAPROXY)).toThrow(/above 0 and at most 100/);
    expect(() => stepWeights(101, 1, 3, HAPROXY)).toThrow(/above 0 and at most 100/);
    expect(() => stepWeights(5, 0, 3, HAPROXY)).toThrow(/no canary server/);
    expect(shareText(5)).toBe('5%');
  });

  it("believes HAProxy's `get weight` only as a weight of 0-256", () => {
    expect(parseWeight('1 (initial 1)\n')).toBe(1);
    expect(parseWeight('256 (initial 10)')).toBe(256);
    for (const bad of ['257 (initial 1)', '-1 (initial 1)', 'No such server.', '1', '1 (initial 1); set weight x']) {
      expect(parseWeight(bad)).toBeUndefined();
    }
  });
});

describe('HAProxy weights', () => {
  const nodes = ['node1', 'node2', 'node3'].map((name) => ({ name }) as NodeSpec);
  const driver = (answer: (line: string) => string) => {
    const lines: string[] = [];
    const run = async (_c: Command, stdin?: string) => {
      const sent = stdin!.trim().split(';');
      lines.push(...sent);
      return { code: 0, stdout: sent.map((l) => `${answer(l)}\n`).join(''), stderr: '' };
    };
    const settings = { socket: '/s', backend: 'app', serverOf: (n: NodeSpec) => n.name, now: () => new Date() };
    return { lines, lb: new HaproxyDriver(run, { ...settings, sleep: async () => undefined }) };
  };

  it('reads each weight once, sets them, and puts back the ones from before on restore, once', async () => {
    const { lines, lb } = driver((l) =>
      l === 'get weight app/node2' ? '3 (initial 1)\n' : l.startsWith('get') ? '1 (initial 1)\n' : '',
    );
    await lb.weigh(nodes.map((node, i) => ({ node, weight: i === 0 ? 3 : 19 })));
    await lb.weigh(nodes.map((node, i) => ({ node, weight: i === 0 ? 1 : 1 })));
    expect(lines).toEqual([
      'get weight app/node1',
      'get weight app/node2',
      'get weight app/node3',
      'set weight app/node1 3',
      'set weight app/node2 19',
      'set weight app/node3 19',
      'set weight app/node1 1',
      'set weight app/node2 1',
      'set weight app/node3 1',
    ]);
    lines.length = 0;
    await lb.restore();
    await lb.restoreWeights();
    await lb.restore();
    expect(lines).toEqual(['set weight app/node1 1', 'set weight app/node2 3', 'set weight app/node3 1']);
  });

  it('trusts no answer: a weight out of range or a refusal fails with what HAProxy said', async () => {
    const odd = driver((l) => (l.startsWith('get') ? '999 (initial 1)\n' : ''));
    await expect(odd.lb.weigh([{ node: nodes[0]!, weight: 2 }])).rejects.toThrow(
      'HAProxy answered "999 (initial 1)" for the weight of app/node1, not a weight of 0-256',
    );
    expect(odd.lines.some((l) => l.startsWith('set'))).toBe(false);
    const static_ = driver((l) =>
      l.startsWith('get')
        ? '1 (initial 1)\n'
        : "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n",
    );
    await expect(static_.lb.weigh([{ node: nodes[0]!, weight: 2 }])).rejects.toThrow(
      /refused to set the weight of app\/node1: Backend is using a static LB algorithm/,
    );
    // A name HAProxy could read as a second command never reaches the socket.
    const bad = { name: 'x;shutdown sessions' } as NodeSpec;
    await expect(static_.lb.weigh([{ node: bad, weight: 2 }])).rejects.toThrow(/cannot be sent to HAProxy/);
  });
});

describe('nginx weights', () => {
  const text =
    'upstream app {\n    server 127.0.0.1:8101;\n    server 127.0.0.1:8102 weight=2 max_fails=3;\n    server 127.0.0.1:8103 down;\n}\n';

  it("sets one server's weight=, keeping its other parameters, and takes it away again", () => {
    const set = setWeight(text, '127.0.0.1:8101', 5)!;
    expect(set).toContain('server 127.0.0.1:8101 weight=5;');
    expect(setWeight(set, '127.0.0.1:8101', undefined)).toBe(text);
    expect(setWeight(text, '127.0.0.1:8102', 7)).toContain('server 127.0.0.1:8102 max_fails=3 weight=7;');
    expect(setWeight(text, '127.0.0.1:9999', 7)).toBeUndefined();
    expect(Object.fromEntries(weightsIn(text))).toEqual({
      '127.0.0.1:8101': undefined,
      '127.0.0.1:8102': 2,
      '127.0.0.1:8103': undefined,
    });
  });

  it('rewrites the weights and reloads, then puts back the ones from before, also on restore', async () => {
    let file = text;
    const reloads: string[] = [];
    const run = async (command: Command, stdin?: string) => {
      const line = render(command);
      if (line === 'cat /nginx.pid') return { code: 0, stdout: '42\n', stderr: '' };
      if (line === 'cat /up.conf') return { code: 0, stdout: file, stderr: '' };
      if (line.startsWith('cat >')) file = stdin!;
      if (line.includes('-s reload')) reloads.push(file);
      return { code: 0, stdout: '', stderr: '' };
    };
    const node = (port: number) =>
      ({ name: `n${port}`, vars: { lbServer: `127.0.0.1:${port}` } }) as unknown as NodeSpec;
    const settings = {
      upstreamFile: '/up.conf',
      pidFile: '/nginx.pid',
      sleep: async () => undefined,
      now: () => new Date(),
    };
    const lb = new NginxDriver(run, { ...settings, serverOf: (n) => String(n.vars.lbServer) });
    await lb.weigh([
      { node: node(8101), weight: 1 },
      { node: node(8102), weight: 6 },
    ]);
    expect(reloads).toHaveLength(1);
    expect(Object.fromEntries(weightsIn(file))).toMatchObject({ '127.0.0.1:8101': 1, '127.0.0.1:8102': 6 });
    await lb.weigh([{ node: node(8101), weight: 3 }]);
    await lb.restoreWeights();
    expect(file).toBe(text.replace('weight=2 max_fails=3', 'max_fails=3 weight=2'));
    expect(Object.fromEntries(weightsIn(file))).toEqual(Object.fromEntries(weightsIn(text)));
    await lb.restoreWeights();
    expect(reloads).toHaveLength(3);
    // At the end of the run the original file comes back whole.
    await lb.weigh([{ node: node(8101), weight: 9 }]);
    await lb.restore();
    expect(file).toBe(text);
  });
});
