import { describe, expect, it } from 'vitest';
import { layout } from '../../src/remote/paths.js';
import { adoptShared, asideSuffix, parseShared, probeShared } from '../../src/remote/shared.js';
import { render } from '../../src/remote/tokens.js';

const l = layout('/srv/app');
const dirs = ['data'];
const files = ['db.json', 'config/app env'];

describe('the shared probe', () => {
  it('checks the shared files only when there is no running release; quotes every path', () => {
    expect(render(probeShared(l, undefined, dirs, files))).toBe(
      "{ test -e /srv/app/shared/db.json && echo 'F 0 ok' || echo 'F 0 missing' ; } ; " +
        "{ test -e '/srv/app/shared/config/app env' && echo 'F 1 ok' || echo 'F 1 missing' ; } ; true",
    );
    expect(render(probeShared(l, undefined, ['log'], []))).toBe('true');
    expect(render(probeShared(l, l.current, [], ['db.json']))).toContain(
      "{ stat -c 'L 0 %s %Y %F' -- /srv/app/current/db.json 2>/dev/null || echo 'L 0 none' ; }",
    );
    expect(() => probeShared(l, l.current, ['../etc'], [])).toThrow(/leaves/);
  });

  it('reads files said ok, and entries that are no longer links, by index', () => {
    const out = [
      'F 0 ok',
      'F 1 missing',
      'L 0 4096 1796648100 directory',
      'L 1 1234 1796648100 regular file',
      'L 2 0 1796648100 regular empty file',
    ].join('\n');
    expect(parseShared(out, dirs, files)).toEqual({
      missing: ['config/app env'],
      replaced: [
        { entry: 'data', kind: 'dir', bytes: 4096, modified: new Date('2026-12-07T12:55:00Z') },
        { entry: 'db.json', kind: 'file', bytes: 1234, modified: new Date('2026-12-07T12:55:00Z') },
        { entry: 'config/app env', kind: 'file', bytes: 0, modified: new Date('2026-12-07T12:55:00Z') },
      ],
    });
    expect(parseShared('L 0 10 1 symbolic link\nL 1 none\nF 0 ok\nF 1 ok\n', dirs, files)).toEqual({
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
    const seen = parseShared(hostile, dirs, files);
    expect(seen.missing).toEqual(['db.json', 'config/app env']);
    expect(seen.replaced).toEqual([
      { entry: 'data', kind: 'dir', modified: new Date(1000) },
      { entry: 'db.json', kind: 'file', bytes: 5 },
      { entry: 'config/app env', kind: 'file', bytes: 5 },
    ]);
    expect(parseShared('', dirs, files)).toEqual({ missing: files, replaced: [] });
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
