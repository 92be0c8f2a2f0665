// The text of `ssh.proxyJump` (deploy.config.ts) and a host's `proxyJump`
// (hosts/<env>.yaml), parsed without any I/O: the schemas validate with it,
// the SSH transport connects with what it returns.

/** One jump host on the way to a node. */
export interface JumpHop {
  readonly user: string;
  readonly address: string;
  readonly port: number;
}

/** The user a hop logs in as when it names none, as for nodes. */
export const JUMP_DEFAULT_USER = 'deploy';

const HOP = /^(?:([a-z_][a-z0-9_.-]*)@)?(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/;

/**
 * OpenSSH's ProxyJump syntax: `[user@]host[:port]`, hops separated by commas,
 * the first hop first (`[fd00::1]:2222` for an IPv6 address with a port).
 * `none` or an empty string: no jump, the node is reached directly.
 */
export function parseProxyJump(text: string): JumpHop[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  return trimmed.split(',').map((raw) => {
    const part = raw.trim();
    const m = HOP.exec(part);
    if (!m) {
      throw new Error(`"${part}" is not a jump host [user@]host[:port] (hops separated by commas, or "none")`);
    }
    const port = m[4] === undefined ? 22 : Number(m[4]);
    if (port < 1 || port > 65535) throw new Error(`"${part}": port ${m[4]} is not between 1 and 65535`);
    return { user: m[1] ?? JUMP_DEFAULT_USER, address: (m[2] ?? m[3])!, port };
  });
}

/** `user@host:port`, the way a hop is named in messages. */
export function hopText(hop: JumpHop): string {
  const host = hop.address.includes(':') ? `[${hop.address}]` : hop.address;
  return `${hop.user}@${host}:${hop.port}`;
}
