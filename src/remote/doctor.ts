import path from 'node:path/posix';
import { and, group, op, or, seq, type Command } from './tokens.js';
import type { Layout } from './paths.js';
import { readLock } from './lock.js';
import { type NodePlatform, parsePlatform, platformProbe } from './platform.js';

const yesNo = (key: string, test: Command): Command =>
  group(or(and(test, ['echo', `${key}=yes`]), ['echo', `${key}=no`]));

/**
 * Everything `deploy doctor` asks a node, in one round trip and changing
 * nothing: key=value lines, then the lock owner record last.
 */
export function doctorProbe(l: Layout): Command {
  const parent = path.dirname(l.deployTo);
  return seq(
    yesNo('exists', ['test', '-d', l.deployTo]),
    yesNo('writable', or(['test', '-w', l.deployTo], and(['test', '!', '-e', l.deployTo], ['test', '-w', parent]))),
    group(or(and(['test', '-d', l.deployTo], ['df', '-Pk', l.deployTo]), ['df', '-Pk', parent])),
    yesNo('tar', ['command', '-v', 'tar', op('>/dev/null')]),
    yesNo('rsync', ['command', '-v', 'rsync', op('>/dev/null')]),
    yesNo('ssh', ['command', '-v', 'ssh', op('>/dev/null')]),
    yesNo('fetch', or(['command', '-v', 'curl', op('>/dev/null')], ['command', '-v', 'wget', op('>/dev/null')])),
    yesNo('mvT', ['mv', '--help', op('2>&1'), op('|'), 'grep', '-q', '--', '--no-target-directory']),
    ['date', '+clock=%s.%N'],
    platformProbe(),
    ['echo', 'lock='],
    readLock(l),
  );
}

export interface DoctorFacts {
  readonly exists: boolean;
  readonly writable: boolean;
  readonly freeKb?: number;
  readonly tar: boolean;
  readonly rsync: boolean;
  /** An OpenSSH client (relay: a node sends the release on). */
  readonly ssh: boolean;
  /** curl or wget (pull: a node fetches the release). */
  readonly fetch: boolean;
  readonly mvT: boolean;
  readonly clock?: number;
  /** What the node is (uname -sm, libc), when it said so plainly. */
  readonly platform?: NodePlatform;
  readonly lock?: string;
}

export function parseDoctor(stdout: string): DoctorFacts {
  const [head = '', lock = ''] = stdout.split(/^lock=$/m);
  const kv = new Map(
    head
      .split('\n')
      .flatMap((line) =>
        /^\w+=/.test(line) ? [[line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const] : [],
      ),
  );
  const dfLine = head.split('\n').find((line) => /^\S+\s+\d+\s+\d+\s+\d+\s+\d+%/.test(line));
  return {
    exists: kv.get('exists') === 'yes',
    writable: kv.get('writable') === 'yes',
    freeKb: dfLine ? Number(dfLine.split(/\s+/)[3]) : undefined,
    tar: kv.get('tar') === 'yes',
    rsync: kv.get('rsync') === 'yes',
    ssh: kv.get('ssh') === 'yes',
    fetch: kv.get('fetch') === 'yes',
    mvT: kv.get('mvT') === 'yes',
    clock: kv.has('clock') ? Number(kv.get('clock')) : undefined,
    platform: parsePlatform(head),
    lock: lock.trim() || undefined,
  };
}
