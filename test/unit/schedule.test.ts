import { describe, expect, it } from 'vitest';
import { named, pickTag, promotedVersion, tagVersion } from '../../src/gates/schedule.js';

const tags = ['v1.0.0', 'v1.1.0', 'v1.2.0', 'v2.0.0-rc.1', 'v1.10.0', 'nightly', 'release-2'];

describe('schedule version resolution', () => {
  it('latest is the highest semver tag (not by string order, not pre-releases above releases)', () => {
    expect(pickTag('latest', tags)).toBe('v1.10.0');
    expect(pickTag('latest', ['v2.0.0-rc.1', 'v1.0.0'])).toBe('v1.0.0');
    expect(pickTag('>=2.0.0-rc.0', ['v2.0.0-rc.1', 'v1.0.0'])).toBe('v2.0.0-rc.1');
    expect(pickTag('latest', ['nightly'])).toBeUndefined();
  });

  it('a range takes the highest tag inside it', () => {
    expect(pickTag('~1.1', tags)).toBe('v1.1.0');
    expect(pickTag('^1.2.0', tags)).toBe('v1.10.0');
    expect(pickTag('>=3', tags)).toBeUndefined();
  });

  it('an exact tag is itself, when it exists', () => {
    expect(pickTag('v1.2.0', tags)).toBe('v1.2.0');
    expect(pickTag('nightly', tags)).toBe('nightly');
    expect(pickTag('v9.9.9', tags)).toBeUndefined();
  });

  it('reads short tags as versions, missing parts 0 (v1 = 1.0.0); anything else names no version', () => {
    expect(['v1', 'v1.2', '1.2.3', 'v2.0.0-rc.1', 'v3+build.5'].map(tagVersion)).toEqual([
      '1.0.0',
      '1.2.0',
      '1.2.3',
      '2.0.0-rc.1',
      '3.0.0',
    ]);
    expect(['nightly', 'release-2', 'v1.2.3.4', 'v01', 'v', '1.', 'V1'].map(tagVersion)).toEqual(
      Array(7).fill(undefined),
    );
  });

  it('latest, *, >=1 and ^3 work on tags like v1, v2, v3', () => {
    const short = ['v1', 'v2', 'v3', 'v3.1', 'v4-rc.1', 'nightly'];
    expect(pickTag('latest', short)).toBe('v3.1');
    expect(pickTag('*', short)).toBe('v3.1');
    expect(pickTag('>=1', short)).toBe('v3.1');
    expect(pickTag('^3', short)).toBe('v3.1');
    expect(pickTag('~3.0', short)).toBe('v3');
    expect(pickTag('<3', short)).toBe('v2');
    expect(pickTag('^2 || ^1', short)).toBe('v2');
    expect(pickTag('>=4.0.0-rc.0', short)).toBe('v4-rc.1');
    expect(pickTag('^5', short)).toBeUndefined();
    expect(pickTag('latest', [])).toBeUndefined();
  });

  it('a version missing as a tag is read as a range (v1 = 1.x); an existing tag is itself', () => {
    expect(pickTag('v1', ['v1.0.0', 'v1.4.2', 'v2.0.0'])).toBe('v1.4.2');
    expect(pickTag('v1', ['v1', 'v1.4.2'])).toBe('v1');
    expect(pickTag('1.4.2', ['v1.4.2'])).toBe('v1.4.2');
  });

  it('two tags of one version: the fully written one, then byte order, whatever the input order', () => {
    expect(pickTag('latest', ['v2', 'v2.0.0', 'v1.9.9'])).toBe('v2.0.0');
    expect(pickTag('latest', ['v2.0.0', 'v2'])).toBe('v2.0.0');
    expect(pickTag('latest', ['v2.0.0', '2.0.0'])).toBe('2.0.0');
    expect(pickTag('^2', ['v2.0', 'v2'])).toBe('v2.0');
  });

  it('promote:pre takes exactly what every pre node runs and proved good', () => {
    expect(promotedVersion([{ version: 'v1.2.0', good: true }])).toBe('v1.2.0');
    expect(
      promotedVersion([
        { version: 'v1.2.0', good: true },
        { version: 'v1.1.0', good: true },
      ]),
    ).toBeUndefined();
    expect(promotedVersion([{ version: 'v1.2.0', good: false }])).toBeUndefined();
    expect(promotedVersion([])).toBeUndefined();
  });

  it('names entries that have no name', () => {
    expect(
      named([
        { env: 'prod', cron: '0 17 * * 2,4', version: 'latest' },
        { name: 'nightly', env: 'dev', cron: '0 2 * * *', version: 'latest' },
      ]).map((e) => e.name),
    ).toEqual(['prod-1', 'nightly']);
  });
});
