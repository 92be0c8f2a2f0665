import path from 'node:path/posix';
import { assertReleaseName, type Layout } from './paths.js';
import { and, group, op, or, quote, render, seq, type Command } from './tokens.js';

/**
 * Node-to-node copies of a relay. The deploy machine makes one ed25519 key
 * per run. Every receiving node gets its public half as one line of the
 * login user's ~/.ssh/authorized_keys, restricted as far as rsync allows:
 * `restrict` (no pty, no forwarding of any kind, no ~/.ssh/rc), `from=` the
 * sender, an `expiry-time`, and a forced `command=` that runs only the
 * receiving half of rsync into this run's new release dir, whatever the
 * sender asks for. Every sending node gets the private half on stdin, into a
 * 0600 file in a 0700 dir of its own, beside a known_hosts file with exactly
 * the receivers' host keys; its ssh checks them (StrictHostKeyChecking=yes).
 * The line and the dir are removed when the relay ends, whatever its result.
 *
 * Why a line in authorized_keys and not a file of its own: sshd reads other
 * files only where sshd_config's AuthorizedKeysFile says, and changing that
 * needs root and a reload on every node; the one line, restricted as above
 * and expiring on its own, works with a stock sshd (tested with OpenSSH 9.2).
 */

/** The login user's authorized_keys, as the node's shell finds it. */
const KEYS = op('"$HOME"/.ssh/authorized_keys');

/**
 * The forced command of the run's key: `sh -c SERVE relink-relay <dest> <link-dest>`. It takes one word
 * from what the sender asked for, rsync's flag word, and only if it is letters and dots and does not ask
 * for secluded args (`s` before the `e` of the capabilities), which would let the sender name the paths;
 * the paths, `--delete` and `--link-dest` are this run's own.
 */
const SERVE = [
  'dest=$1 link=$2',
  'set -f',
  'set -- $SSH_ORIGINAL_COMMAND',
  'flags=$3',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not JavaScript.
  'case ${flags%%e*} in *s*) flags= ;; esac',
  'case $flags in -*[!A-Za-z.]*) flags= ;; -?*) ;; *) flags= ;; esac',
  'if [ "$1" != rsync ] || [ "$2" != --server ] || [ -z "$flags" ]; then ' +
    'echo "refused by the relay key of this run: $SSH_ORIGINAL_COMMAND" >&2; exit 1; fi',
  'if [ -n "$link" ]; then exec rsync --server "$flags" --delete --link-dest="$link" . "$dest"; fi',
  'exec rsync --server "$flags" --delete . "$dest"',
].join('; ');

const PATTERN = /^!?[A-Za-z0-9.:*?/_-]+$/;

/** Where a sending node keeps the run's private key (`id`) and the receivers' host keys (`known_hosts`). */
export function relayDir(l: Layout, runId: string): string {
  assertReleaseName(runId);
  return path.join(l.state, `relay-${runId}`);
}

export interface RelayGrant {
  readonly runId: string;
  /** Addresses or patterns the key is accepted from (sshd's from=). */
  readonly from: readonly string[];
  /** When sshd stops accepting the key, even if its line could not be removed. */
  readonly expires: Date;
  /** The new release dir on the receiver, and its current release to hard-link unchanged files against. */
  readonly dest: string;
  readonly linkDest?: string;
}

/** The base64 part of an OpenSSH public key line, checked to be ed25519. */
export function keyBlob(publicKey: string): string {
  const [type, blob] = publicKey.trim().split(/\s+/);
  if (type !== 'ssh-ed25519' || !blob || !/^[A-Za-z0-9+/]+=*$/.test(blob))
    throw new Error('the relay key must be an ssh-ed25519 public key');
  return blob;
}

/** `YYYYMMDDHHMMSSZ`: expiry-time in UTC. */
function expiry(time: Date): string {
  return `${time.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** The authorized_keys line of the run's key on one receiver (see the top of this file). */
export function relayKeyLine(publicKey: string, grant: RelayGrant): string {
  const blob = keyBlob(publicKey);
  assertReleaseName(grant.runId);
  if (grant.from.length === 0 || !grant.from.every((p) => PATTERN.test(p)))
    throw new Error(`unsafe from= pattern in ${JSON.stringify(grant.from)}`);
  const command = render([
    'sh',
    '-c',
    SERVE,
    'relink-relay',
    `${grant.dest.replace(/\/?$/, '/')}`,
    grant.linkDest ?? '',
  ]);
  // One line per key: a newline would end it and start a line of the sender's choosing.
  if (/[\r\n]/.test(command)) throw new Error('a path of the relay contains a line break');
  // Inside command="...", sshd reads \" as a quote and every other character as itself.
  const options = [
    'restrict',
    `from="${grant.from.join(',')}"`,
    `expiry-time="${expiry(grant.expires)}"`,
    `command="${command.replaceAll('"', '\\"')}"`,
  ];
  return `${options.join(',')} ssh-ed25519 ${blob} relink-relay-${grant.runId}`;
}

/** On a receiver: appends the run's key line, after a newline if the file lacks a last one. */
export function trustRelayKey(line: string): Command {
  return and(
    ['umask', '077'],
    ['mkdir', '-p', op('"$HOME"/.ssh')],
    group(
      or(
        ['test', '!', '-s', KEYS],
        ['test', '-z', op('"$(tail -c 1 "$HOME"/.ssh/authorized_keys)"')],
        ['echo', op('>>'), KEYS],
      ),
    ),
    ['printf', '%s\\n', line, op('>>'), KEYS],
  );
}

/** On a sender: its relay dir with the receivers' host keys, and the private key from stdin (0600). */
export function armSender(l: Layout, runId: string, knownHosts: readonly string[]): Command {
  const dir = relayDir(l, runId);
  if (knownHosts.length === 0 || knownHosts.some((h) => /[\r\n]/.test(h)))
    throw new Error('a relay sender needs the host key lines of its receivers');
  return and(
    ['rm', '-rf', dir],
    ['mkdir', '-p', l.state],
    ['mkdir', '-m', '700', dir],
    ['umask', '077'],
    ['printf', '%s\\n', ...knownHosts, op('>'), path.join(dir, 'known_hosts')],
    ['cat', op('>'), path.join(dir, 'id')],
  );
}

export interface RelayCopy {
  /** The release dir on the sender. */
  readonly source: string;
  readonly dest: string;
  readonly linkDest?: string;
  readonly user: string;
  readonly address: string;
  readonly port: number;
  readonly timeoutSeconds: number;
  readonly connectTimeoutSeconds: number;
}

/**
 * On a sender: rsync of its release dir to one receiver with the run's key,
 * from inside the relay dir so that ssh's options name plain relative files
 * (rsync splits `-e` on spaces itself). No ssh config, no agent, no other key,
 * and only the host keys the deploy machine verified.
 */
export function relaySend(l: Layout, runId: string, copy: RelayCopy): Command {
  if (!/^[a-z_][a-z0-9_.-]*$/.test(copy.user) || !/^[A-Za-z0-9.:_-]+$/.test(copy.address))
    throw new Error(`unsafe relay target ${JSON.stringify(`${copy.user}@${copy.address}`)}`);
  const whole = (n: number) => String(Math.max(1, Math.ceil(n)));
  const ssh = [
    'ssh -F /dev/null -i id -o IdentitiesOnly=yes -o IdentityAgent=none',
    '-o UserKnownHostsFile=known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes',
    `-o UpdateHostKeys=no -o BatchMode=yes -o ConnectTimeout=${whole(copy.connectTimeoutSeconds)}`,
    `-p ${Number.isInteger(copy.port) ? copy.port : 22}`,
  ].join(' ');
  const host = copy.address.includes(':') ? `[${copy.address}]` : copy.address;
  return and(
    ['cd', relayDir(l, runId)],
    [
      'timeout',
      '-k',
      '5',
      whole(copy.timeoutSeconds),
      'rsync',
      // Content, not times, decides what is unchanged (see rsyncArgs in transport/rsync.ts).
      '-rlpDc',
      '--delete',
      ...(copy.linkDest ? [`--link-dest=${copy.linkDest}`] : []),
      '-e',
      ssh,
      `${copy.source.replace(/\/?$/, '/')}`,
      `${copy.user}@${host}:${copy.dest.replace(/\/?$/, '/')}`,
    ],
  );
}

/**
 * On every node of the relay, on success and on failure alike: removes the
 * relay dir and every line of the run's key (rewritten through a temp file
 * and a rename, so a crash leaves the old file or the new one, never half),
 * then checks the key is gone. The temp file is named after the node: nodes
 * that share a home directory each write their own, and as every one of them
 * removes the same lines (the caller runs this on every node at once, after
 * the last copy), they all write the same result.
 */
export function revokeRelay(l: Layout, runId: string, blob: string, node: string): Command {
  keyBlob(`ssh-ed25519 ${blob}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(node)) throw new Error(`unsafe node name ${JSON.stringify(node)}`);
  const KEYS_TMP = op(`"$HOME"/.ssh/authorized_keys.${quote(`relink-${node}`)}`);
  const filter = seq(['grep', '-vF', '-e', blob, KEYS, op('>'), KEYS_TMP], ['test', op('$?'), '-le', '1']);
  return and(
    ['rm', '-rf', relayDir(l, runId)],
    group(
      or(
        [op('!'), 'grep', '-qsF', '-e', blob, KEYS],
        group(and(['umask', '077'], group(filter), ['mv', '-f', KEYS_TMP, KEYS])),
      ),
    ),
    [op('!'), 'grep', '-qsF', '-e', blob, KEYS],
    // Relay dirs a relink killed mid-run left behind (their key has expired, the private half has not): no other
    // run can be using them while this one holds the node's lock.
    group(
      or(
        ['find', l.state, '-maxdepth', '1', '-name', 'relay-*', '-type', 'd', '-exec', 'rm', '-rf', '{}', op('+')],
        ['true'],
      ),
    ),
  );
}
