import { describe, expect, it } from 'vitest';
import { named, pickTag, promotedVersion } from '../../src/gates/schedule.js';

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
