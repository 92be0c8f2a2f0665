// The analysis' pure parts: bounds, the baseline comparison, what a measurement and an analysis come to, the
// query templates, Prometheus' answers checked before they are believed, and the journal's entries.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { holds, parseCondition } from '../../src/config/condition.js';
import { validateInventory, validateUserConfig } from '../../src/config/validate.js';
import { judgeQuery, shown, standing, verdictLine, worst } from '../../src/gates/analysis.js';
import { parseJournal } from '../../src/journal/events.js';
import { alternation, analysisScope, renderQuery } from '../../src/template/analysis-scope.js';
import { valuesOf } from '../../src/transport/prometheus.js';

const q = { name: 'errors', query: 'x', condition: '< 0.01' };

describe('a condition', () => {
  it('is an operator and a number', () => {
    expect(parseCondition('<0.01')).toEqual({ op: '<', bound: 0.01, text: '< 0.01' });
    expect(parseCondition(' >= 1e3 ')).toEqual({ op: '>=', bound: 1000, text: '>= 1e3' });
    for (const bad of ['0.01', '< ', '== 1', '< 1 and > 0', '<x'])
      expect(() => parseCondition(bad), bad).toThrow(/not a bound/);
  });

  it('holds or not, at its edge too', () => {
    expect(holds(parseCondition('< 1'), 1)).toBe(false);
    expect(holds(parseCondition('<= 1'), 1)).toBe(true);
    expect(holds(parseCondition('> 0.99'), 0.995)).toBe(true);
    expect(holds(parseCondition('>= 0.99'), 0.98)).toBe(false);
  });
});

describe('a query judged', () => {
  it('by its bound, on the worst of its series', () => {
    expect(worst([0.1, 0.3, 0.2])).toBe(0.3);
    expect(worst([0.1, 0.3], parseCondition('> 0.05'))).toBe(0.1);
    expect(judgeQuery(q, { canary: [0.001, 0.02] }, 'fail')).toEqual({
      query: 'errors',
      condition: '< 0.01',
      canary: 0.02,
      ok: false,
      why: '0.02 is not < 0.01',
    });
    expect(judgeQuery(q, { canary: [0.001] }, 'fail')).toEqual({
      query: 'errors',
      condition: '< 0.01',
      canary: 0.001,
      ok: true,
    });
  });

  it("against the baseline: at most maxRatio times the baseline's value, plus the margin", () => {
    const latency = { name: 'p99', query: 'x', baseline: { maxRatio: 1.5, margin: 0.01 } };
    const ok = judgeQuery(latency, { canary: [0.3], baseline: [0.2] }, 'fail');
    expect(ok).toMatchObject({ canary: 0.3, baseline: 0.2, ok: true });
    expect(ok.allowed).toBeCloseTo(0.31, 10);
    const slow = judgeQuery(latency, { canary: [0.5], baseline: [0.2] }, 'fail');
    expect(slow).toMatchObject({ ok: false, why: '0.5 is above 0.31 (baseline 0.2 × 1.5)' });
    expect(verdictLine(slow)).toBe(
      'p99 0.5, baseline 0.2 (<= 0.31 by the baseline): FAILED, 0.5 is above 0.31 (baseline 0.2 × 1.5)',
    );
    // No baseline asked (no node left on the release before): the bound alone, here none.
    expect(judgeQuery(latency, { canary: [9] }, 'fail')).toEqual({ query: 'p99', canary: 9, ok: true });
    // Both a bound and a comparison: each must hold.
    const both = { ...latency, condition: '< 0.4' };
    expect(judgeQuery(both, { canary: [0.45], baseline: [0.4] }, 'fail')).toMatchObject({
      ok: false,
      why: '0.45 is not < 0.4',
    });
  });

  it('without data as noData says, and a failed query as a failure with its reason', () => {
    expect(judgeQuery(q, { canary: [] }, 'fail')).toMatchObject({
      canary: null,
      ok: false,
      why: 'no data for the canary (noData: fail)',
    });
    expect(judgeQuery(q, { canary: [] }, 'pass')).toMatchObject({
      ok: true,
      why: 'no data for the canary (noData: pass)',
    });
    const cmp = { name: 'p99', query: 'x', baseline: { maxRatio: 2, margin: 0 } };
    expect(judgeQuery(cmp, { canary: [1], baseline: [] }, 'fail')).toMatchObject({
      baseline: null,
      ok: false,
      why: 'no data for the baseline (noData: fail)',
    });
    expect(judgeQuery(q, { error: 'timed out' }, 'pass')).toMatchObject({ canary: null, ok: false, why: 'timed out' });
    // A baseline without data (no traffic left there at a 100% step) with noData: pass skips the comparison
    // only: the canary's own bound still judges it.
    const bounded = { ...cmp, condition: '< 0.02' };
    expect(judgeQuery(bounded, { canary: [0.5], baseline: [] }, 'pass')).toMatchObject({
      canary: 0.5,
      ok: false,
      why: '0.5 is not < 0.02',
    });
    expect(judgeQuery(bounded, { canary: [0.01], baseline: [] }, 'pass')).toMatchObject({ canary: 0.01, ok: true });
  });

  it('an analysis fails at the first failure past the limit, passes after count measurements', () => {
    expect(standing([], 3, 0)).toBe('going');
    expect(standing([true, true], 3, 0)).toBe('going');
    expect(standing([true, false], 3, 0)).toBe('failed');
    expect(standing([true, false], 3, 1)).toBe('going');
    expect(standing([true, false, true], 3, 1)).toBe('passed');
    expect(standing([false, false], 3, 1)).toBe('failed');
    expect(shown(0.052345)).toBe('0.05235');
    expect(shown(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});

describe('the query templates', () => {
  const user = validateUserConfig(
    {
      project: 'shop',
      repo: '.',
      deployTo: '/srv/shop',
      vars: { job: 'web' },
      analysis: { prometheus: { url: 'http://p:9090' }, queries: [q] },
    },
    'deploy.config.ts',
  );
  const config = resolveConfig(user, 'prod', '/p/deploy.config.ts');
  const inventory = validateInventory(
    { hosts: ['web1', 'web.2', 'web3'].map((name, i) => ({ name, address: `10.0.0.${i + 1}` })) },
    'prod',
    'hosts/prod.yaml',
  );
  const [a, b, c] = inventory.hosts;
  const sets = { canary: [a!], baseline: [b!, c!] };

  it('name the measured set, both sets and what the measured set runs, as regular expressions', () => {
    expect(alternation(['web1', 'web.2', '10.0.0.1'])).toBe('web1|web[.]2|10[.]0[.]0[.]1');
    expect(alternation([])).toBe('relink:none');
    const canary = analysisScope(config, inventory, sets, 'canary', { release: 'r2', version: 'v2' });
    const text =
      'rate(x{job="{{ vars.job }}",node=~"{{ nodes.names }}",instance=~"({{ nodes.addresses }}):.*",' +
      'release="{{ release }}"}[1m]) / on() rate(x{node=~"{{ baseline.names }}"}[1m]) {{ node.name }} {{ env }}';
    expect(renderQuery({ name: 'e', query: text }, canary)).toBe(
      'rate(x{job="web",node=~"web1",instance=~"(10[.]0[.]0[.]1):.*",release="r2"}[1m]) / on() ' +
        'rate(x{node=~"web[.]2|web3"}[1m]) web1 prod',
    );
    const baseline = analysisScope(config, inventory, sets, 'baseline', { release: 'r1', version: 'v1' });
    expect(renderQuery({ name: 'e', query: '{{ nodes.names }} {{ version }} {{ canary.names }}' }, baseline)).toBe(
      'web[.]2|web3 v1 web1',
    );
  });

  it('refuse an unknown variable, naming the query; secrets are not among them', () => {
    const scope = analysisScope(config, inventory, sets, 'canary', { release: 'r', version: 'v' });
    expect(() => renderQuery({ name: 'e', query: '{{ secret.TOKEN }}' }, scope)).toThrow(
      /analysis query "e": unknown template variable \{\{ secret.TOKEN \}\}/,
    );
  });

  it('are checked by the config: a bound that is not one, a query with nothing to hold it to', () => {
    const bad = (query: Record<string, unknown>) => () =>
      validateUserConfig(
        { project: 's', repo: '.', deployTo: '/s', analysis: { prometheus: { url: 'http://p' }, queries: [query] } },
        'deploy.config.ts',
      );
    expect(bad({ name: 'e', query: 'x', condition: 'below 1' })).toThrow(/not a bound/);
    expect(bad({ name: 'e', query: 'x' })).toThrow(/set "condition", "baseline" or both/);
    expect(config.analysis).toMatchObject({
      intervalMs: 60_000,
      count: 5,
      failureLimit: 0,
      noData: 'fail',
      afterGroups: [],
    });
  });
});

describe("Prometheus' answer", () => {
  const answer = (value: unknown) => JSON.stringify(value);
  it('is read as the values of its series (a scalar is one), NaN left out', () => {
    const vector = {
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { node: 'a' }, value: [1, '0.5'] },
          { metric: {}, value: [1, 'NaN'] },
          { metric: { node: 'b' }, value: [1, '+Inf'] },
        ],
      },
    };
    expect(valuesOf(answer(vector), 200, 'http://p')).toEqual([0.5, Number.POSITIVE_INFINITY]);
    const scalar = { status: 'success', data: { resultType: 'scalar', result: [1, '3'] } };
    expect(valuesOf(answer(scalar), 200, 'http://p')).toEqual([3]);
  });

  it('is not believed in any other shape, and a refusal says why', () => {
    const error = { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' };
    expect(() => valuesOf(answer(error), 400, 'http://p')).toThrow(
      'Prometheus refused the query (bad_data): parse error at char 3',
    );
    expect(() => valuesOf('<html>proxy error</html>', 502, 'http://p')).toThrow(
      /answered 502 with something that is not/,
    );
    const matrix = { status: 'success', data: { resultType: 'matrix', result: [] } };
    expect(() => valuesOf(answer(matrix), 200, 'http://p')).toThrow(/in a shape it does not use/);
    const wrong = { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: ['x', 1] }] } };
    expect(() => valuesOf(answer(wrong), 200, 'http://p')).toThrow(/in a shape it does not use/);
  });
});

describe('the journal', () => {
  it('keeps well-formed analysis entries and drops others', () => {
    const base = { v: 1, ts: '2026-11-21T17:00:00Z', run: 'r1', node: 'n', env: 'prod', user: 'ana' };
    const good = [
      { query: 'errors', canary: 0.05, condition: '< 0.01', ok: false },
      { query: 'p99', canary: null, baseline: 0.2, allowed: 0.3, ok: true },
    ];
    const lines = [
      { ...base, event: 'analysis_failed', analysis: good },
      { ...base, event: 'analysis_failed', analysis: [{ query: 'x', canary: 'lots', ok: true }] },
      { ...base, event: 'run_finished', analysisSkipped: true, reason: 'prometheus down' },
    ];
    const parsed = parseJournal(lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(parsed.events[0]!.analysis).toEqual(good);
    expect(parsed.events[1]!.analysis).toBeUndefined();
    expect(parsed.dropped).toEqual([{ line: 2, field: 'analysis' }]);
    expect(parsed.events[2]).toMatchObject({ analysisSkipped: true, reason: 'prometheus down' });
  });
});
