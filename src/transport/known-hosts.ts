import crypto from 'node:crypto';

export type HostKeyVerdict = 'known' | 'unknown' | 'changed' | 'revoked';

interface Entry {
  readonly marker?: string;
  readonly patterns: string;
  readonly type: string;
  readonly key: string;
}

/** known_hosts as OpenSSH writes it: plain or hashed host patterns, `@revoked` markers. */
export function parseKnownHosts(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, key] = fields;
    if (patterns && type && key) entries.push({ marker, patterns, type, key });
  }
  return entries;
}

/** `host` for port 22, `[host]:port` otherwise, as ssh looks it up. */
export function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

function hostMatches(patterns: string, label: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    const digest = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(label).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), label)) return false;
    } else if (globMatch(pattern, label)) {
      matched = true;
    }
  }
  return matched;
}

/**
 * Whether the key a host presented is the one known_hosts holds for it.
 * `changed` when the host is listed with other keys only: the case to refuse loudly.
 */
export function verifyHostKey(
  entries: readonly Entry[],
  host: string,
  port: number,
  presented: Buffer,
): HostKeyVerdict {
  const label = hostLabel(host, port);
  const presentedB64 = presented.toString('base64');
  let listed = false;
  for (const entry of entries) {
    if (entry.marker === '@cert-authority' || !hostMatches(entry.patterns, label)) continue;
    if (entry.marker === '@revoked') {
      if (entry.key === presentedB64) return 'revoked';
      continue;
    }
    listed = true;
    if (entry.key === presentedB64) return 'known';
  }
  return listed ? 'changed' : 'unknown';
}

/**
 * The known_hosts lines for one host only, its patterns replaced by its own label: what a node that
 * connects to this host needs to check its key (plain or hashed entries, `@revoked` and
 * `@cert-authority` lines kept with their marker). Empty when known_hosts does not know the host.
 */
export function linesForHost(entries: readonly Entry[], host: string, port: number): string[] {
  const label = hostLabel(host, port);
  return entries
    .filter((entry) => hostMatches(entry.patterns, label))
    .map((entry) => `${entry.marker ? `${entry.marker} ` : ''}${label} ${entry.type} ${entry.key}`);
}
