import { describe, expect, it } from 'vitest';
import { layout } from '../../src/remote/paths.js';
import { adoptShared, asideSuffix, parseShared, probeShared } from '../../src/remote/shared.js';
import { render } from '../../src/remote/tokens.js';

const l = layout('/srv/app');
const dirs = ['data'];
const files = ['db.json', 'config/app env'];
const entries = [...dirs, ...files];

describe('the shared probe', () => {
  it('checks the shared files only when there is no running release; quotes every path', () => {
    expect(render(probeShared(l, files))).toBe(
      "{ test -e /srv/app/shared/db.json && echo 'F 0 ok' || echo 'F 0 missing' ; } ; " +
        "{ test -e '/srv/app/shared/config/app env' && echo 'F 1 ok' || echo 'F 1 missing' ; } ; true",
    );
    expect(render(probeShared(l, []))).toBe('true');
    expect(render(probeShared(l, ['db.json'], { dir: l.current, entries: ['db.json'] }))).toContain(
      "{ stat -c 'L 0 %s %Y %F' -- /srv/app/current/db.json 2>/dev/null || echo 'L 0 none' ; }",
    );
    expect(() => probeShared(l, [], { dir: l.current, entries: ['../etc'] })).toThrow(/leaves/);
  });

  it('checks the links the running release names, which may differ from the files the next one links', () => {
    // The running release shared db.json; the next one shares the directory data instead.
    const probe = render(probeShared(l, [], { dir: '/srv/app/releases/r0', entries: ['db.json'] }));
    expect(probe).toBe(
      "{ stat -c 'L 0 %s %Y %F' -- /srv/app/releases/r0/db.json 2>/dev/null || echo 'L 0 none' ; } ; true",
    );
    expect(parseShared('L 0 1234 1796648100 regular file\n', [], ['db.json']).replaced).toEqual([
      { entry: 'db.json', kind: 'file', bytes: 1234, modified: new Date('2026-12-07T12:55:00Z') },
    ]);
  });

  it('reads files said ok, and entries that are no longer links, by index', () => {
    const out = [
      'F 0 ok',
      'F 1 missing',
      'L 0 4096 1796648100 directory',
      'L 1 1234 1796648100 regular file',
      'L 2 0 1796648100 regular empty file',
    ].join('\n');
    expect(parseShared(out, files, entries)).toEqual({
      missing: ['config/app env'],
      replaced: [
        { entry: 'data', kind: 'dir', bytes: 4096, modified: new Date('2026-12-07T12:55:00Z') },
        { entry: 'db.json', kind: 'file', bytes: 1234, modified: new Date('2026-12-07T12:55:00Z') },
        { entry: 'config/app env', kind: 'file', bytes: 0, modified: new Date('2026-12-07T12:55:00Z') },
      ],
    });
    expect(parseShared('L 0 10 1 symbolic link\nL 1 none\nF 0 ok\nF 1 ok\n', files, entries)).toEqual({
      missing: [],
      replaced: [],
    });
  });

  it('distrusts the node: unknown indexes, odd words, absurd sizes and times are dropped; silence is missing', () => {
    const hostile = [
      'F 7 ok',
      'F 0 ok ; rm -rf /',
      'L 9 1 1 regular file',
      'L 0 99999999999999999999 1 directory',
      'L 1 5 -20 regular file',
      'L 2 5 99999999999999 regular file',
      'L 1 6 7 regular file',
      'L 0 1 1 \x1b[31mregular file',
      'L 2 1 1 door',
    ].join('\n');
    const seen = parseShared(hostile, files, entries);
    expect(seen.missing).toEqual(['db.json', 'config/app env']);
    expect(seen.replaced).toEqual([
      { entry: 'data', kind: 'dir', modified: new Date(1000) },
      { entry: 'db.json', kind: 'file', bytes: 5 },
      { entry: 'config/app env', kind: 'file', bytes: 5 },
    ]);
    expect(parseShared('', files, entries)).toEqual({ missing: files, replaced: [] });
  });
});

describe('adopting a shared entry', () => {
  it('keeps the copy in shared/ aside under a time-stamped name, never overwrites either copy', () => {
    const suffix = asideSuffix(new Date('2026-12-07T12:55:00.123Z'));
    expect(suffix).toBe('.relink-20261207T125500Z');
    const text = render(adoptShared(l, 'hello_prod_v1_x', 'data', suffix));
    expect(text).toBe(
      "test '!' -L /srv/app/releases/hello_prod_v1_x/data && test -e /srv/app/releases/hello_prod_v1_x/data && " +
        "mkdir -p /srv/app/shared && { test '!' -e /srv/app/shared/data && test '!' -L /srv/app/shared/data || " +
        "{ test '!' -e /srv/app/shared/data.relink-20261207T125500Z && test '!' -L " +
        '/srv/app/shared/data.relink-20261207T125500Z && mv -T -- /srv/app/shared/data ' +
        '/srv/app/shared/data.relink-20261207T125500Z ; } ; } && mv -T -- /srv/app/releases/hello_prod_v1_x/data ' +
        '/srv/app/shared/data && ln -s /srv/app/shared/data /srv/app/releases/hello_prod_v1_x/data',
    );
    expect(() => adoptShared(l, 'hello_prod_v1_x', 'data', '.relink-x; rm -rf /')).toThrow(/unsafe suffix/);
    expect(() => adoptShared(l, '../x', 'data', suffix)).toThrow(/unsafe release name/);
  });
});
