import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/log/redact.js';
import { parseDotenv, loadSecrets } from '../../src/config/secrets.js';
import { renderTemplate } from '../../src/template/render.js';
import { parseKnownHosts, verifyHostKey } from '../../src/transport/known-hosts.js';
import type { ResolvedConfig } from '../../src/config/types.js';

describe('templates', () => {
  it('fills variables and refuses unknown ones, naming the file', () => {
    const scope = { host: { appPort: 8101 }, vars: { greeting: 'hi' }, secret: { K: 'v' } };
    expect(renderTemplate('PORT={{ host.appPort }}\nG={{vars.greeting}} {{ secret.K }}', scope, 't.env')).toBe(
      'PORT=8101\nG=hi v',
    );
    expect(() => renderTemplate('{{ vars.nope }} {{ host }}', scope, 'templates/t.env')).toThrow(
      'templates/t.env: unknown template variables {{ vars.nope }}, {{ host }}',
    );
  });

  it('does not walk into prototypes', () => {
    expect(() => renderTemplate('{{ vars.constructor }}', { vars: {} }, 't')).toThrow(/unknown template variable/);
  });
});

describe('secrets', () => {
  it('parses dotenv files', () => {
    expect(parseDotenv('# c\nA=1\nexport B="two words"\nC=\'x\'\nbad line\n')).toEqual({
      A: '1',
      B: 'two words',
      C: 'x',
    });
  });

  it('reads from the environment, registers values for redaction, names missing ones', () => {
    const redactor = new Redactor();
    const config = { secrets: ['DB_PASSWORD', 'API_KEY'], secretsFile: undefined } as unknown as ResolvedConfig;
    expect(() => loadSecrets(config, { DB_PASSWORD: 'pw-123' }, redactor)).toThrow('secret not set: API_KEY');
    const values = loadSecrets(config, { DB_PASSWORD: 'pw-123', API_KEY: 'key-456' }, redactor);
    expect(values).toEqual({ DB_PASSWORD: 'pw-123', API_KEY: 'key-456' });
    expect(redactor.apply('login pw-123 with key-456')).toBe('login [REDACTED] with [REDACTED]');
  });
});

describe('known_hosts', () => {
  const key = crypto.randomBytes(51);
  const other = crypto.randomBytes(51);
  const b64 = key.toString('base64');

  it('knows plain and bracketed host:port entries', () => {
    const entries = parseKnownHosts(
      `# comment\n[127.0.0.1]:2201 ssh-ed25519 ${b64}\nexample.com,10.0.0.1 ssh-ed25519 ${b64}\n`,
    );
    expect(verifyHostKey(entries, '127.0.0.1', 2201, key)).toBe('known');
    expect(verifyHostKey(entries, '10.0.0.1', 22, key)).toBe('known');
    expect(verifyHostKey(entries, '127.0.0.1', 2202, key)).toBe('unknown');
    expect(verifyHostKey(entries, '127.0.0.1', 2201, other)).toBe('changed');
  });

  it('knows hashed entries and revoked keys', () => {
    const salt = crypto.randomBytes(20);
    const hash = crypto.createHmac('sha1', salt).update('[10.1.1.1]:2222').digest('base64');
    const entries = parseKnownHosts(
      `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${b64}\n@revoked * ssh-ed25519 ${other.toString('base64')}\n`,
    );
    expect(verifyHostKey(entries, '10.1.1.1', 2222, key)).toBe('known');
    expect(verifyHostKey(entries, '10.1.1.1', 22, key)).toBe('unknown');
    expect(verifyHostKey(entries, '10.1.1.1', 2222, other)).toBe('revoked');
  });
});
