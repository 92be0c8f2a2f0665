import { describe, expect, it } from 'vitest';
import { groupCount, rolloutGroups, filterNodes } from '../../src/inventory/groups.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import { releaseName, stamp } from '../../src/remote/release-name.js';
import { closest, distance } from '../../src/app/version.js';

const time = new Date('2026-11-21T17:02:03Z');

describe('release name', () => {
  it('is project_env_version_branch_time_author', () => {
    expect(releaseName({ project: 'hello', env: 'prod', version: 'v1.1.0', branch: 'main', time, author: 'ana' })).toBe(
      'hello_prod_v1.1.0_main_20261121-170203_ana',
    );
    expect(stamp(time)).toBe('20261121-170203');
  });

  it.each([
    ['feature/login', 'feature-login'],
    ['$(rm -rf /)', 'rm-rf'],
    ['`id`', 'id'],
    ['o\'brien "x"', 'o-brien-x'],
    ['Ana María Þór', `${'Ana-Mar-a-Þ'.replace('Þ', '')}r`],
    ['部署', 'unknown'],
    ['a_b', 'a-b'],
    ['../../etc', 'etc'],
    ['', 'unknown'],
  ])('turns unsafe %j into a safe part', (input, expected) => {
    const name = releaseName({ project: 'p', env: 'dev', version: 'v1', branch: input, time, author: input });
    const parts = name.split('_');
    expect(parts).toHaveLength(6);
    expect(parts[3]).toBe(expected);
    expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  });

  it('bounds very long parts', () => {
    const name = releaseName({
      project: 'p',
      env: 'dev',
      version: 'v1',
      branch: 'x'.repeat(500),
      time,
      author: 'y'.repeat(500),
    });
    expect(name.length).toBeLessThan(160);
  });
});

const node = (name: string): NodeSpec => ({ name, address: '10.0.0.1', port: 22, user: 'deploy', roles: [], vars: {} });
const nodes = ['a', 'b', 'c', 'd', 'e'].map(node);

describe('rollout groups', () => {
  it('puts the pre node alone first, then batches in inventory order', () => {
    expect(rolloutGroups(nodes, 'c', 2).map((g) => g.map((n) => n.name))).toEqual([['c'], ['a', 'b'], ['d', 'e']]);
  });

  it('understands percentages of the serving nodes', () => {
    expect(rolloutGroups(nodes, 'a', '50%').map((g) => g.map((n) => n.name))).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    expect(groupCount('25%', 10)).toBe(3);
    expect(groupCount('1%', 3)).toBe(1);
    expect(groupCount(10, 3)).toBe(3);
  });

  it('works without a pre node', () => {
    expect(rolloutGroups(nodes, undefined, 3).map((g) => g.length)).toEqual([3, 2]);
  });

  it('refuses unknown node names in a filter', () => {
    expect(() => filterNodes(nodes, ['a', 'zz'])).toThrow(/unknown node: zz/);
    expect(filterNodes(nodes, ['b']).map((n) => n.name)).toEqual(['b']);
  });
});

describe('closest tags', () => {
  it('suggests the nearest names first', () => {
    expect(distance('v1.1.0', 'v1.1.1')).toBe(1);
    expect(closest('v1.10', ['v1.0.0', 'v1.1.0', 'v2.0.0', 'v1.2.0'])[0]).toBe('v1.1.0');
  });
});
