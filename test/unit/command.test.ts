import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { and, op, or, quote, render, secret } from '../../src/remote/tokens.js';
import { haproxyLine, haproxyServer } from '../../src/remote/lb-commands.js';

const hostile = [
  '$(rm -rf /)',
  '`touch /tmp/x`',
  "it's",
  '"double"',
  'a\nb',
  'tab\there',
  'semi;colon && more || less',
  '*',
  '~root',
  '$HOME',
  '-rf',
  'ünïcødé ✓ 部署',
  '',
  ' ',
  "'",
  "''",
  '\\',
  '!history',
  '> /etc/passwd',
];

describe('quote', () => {
  it('leaves safe words bare and quotes everything else', () => {
    expect(quote('/srv/app/releases/x_1.0')).toBe('/srv/app/releases/x_1.0');
    expect(quote('')).toBe("''");
    expect(quote("it's")).toBe("'it'\\''s'");
    expect(quote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });

  it.each(hostile)('survives a real shell unchanged: %j', (value) => {
    const echoed = execFileSync('sh', ['-c', `printf '%s' ${quote(value)}`], { encoding: 'utf8' });
    expect(echoed).toBe(value);
  });

  it('refuses NUL bytes, which no shell argument can carry', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });
});

describe('render', () => {
  it('joins tokens, keeps operators raw and redacts secrets for logs', () => {
    const cmd = and(['echo', secret('hunter2'), op('>'), '/tmp/out file'], ['true']);
    expect(render(cmd)).toBe("echo hunter2 > '/tmp/out file' && true");
    expect(render(cmd, { redact: true })).toBe("echo [REDACTED] > '/tmp/out file' && true");
  });

  it('skips empty commands when joining', () => {
    expect(render(or([], ['a'], ['b']))).toBe('a || b');
  });
});

describe('haproxyLine: the one encoder for HAProxy runtime API commands', () => {
  it('joins checked words into one line', () => {
    expect(haproxyLine('set', 'server', haproxyServer('app', 'web-1.a:b_c'), 'state', 'drain')).toBe(
      'set server app/web-1.a:b_c state drain\n',
    );
  });

  it.each([
    'web1;shutdown sessions server app/web2',
    'web1\nset server app/web2 state maint',
    'web 1',
    '',
    'a/b',
    '$(x)',
  ])('refuses a hostile server name %j before anything is sent', (server) => {
    expect(() => haproxyServer('app', server)).toThrow(/cannot be sent to HAProxy's runtime API/);
    expect(() => haproxyServer(server, 'web1')).toThrow(/cannot be sent to HAProxy's runtime API/);
  });
});
