// What a machine a release is built on or runs on is, as one word: OS, architecture and libc
// (`linux-x64-glibc2.36`, `linux-arm64-musl`, `darwin-arm64`), in Node's own names (process.platform,
// process.arch), so the deploy machine's word and a node's compare. The build cache keeps one artifact
// per such word and commit; a release with native addons built under one word does not run under another.
import type { Command } from './tokens.js';

/** One part of a platform word: lower-case letters, digits and dots. */
const PART = /^[a-z0-9][a-z0-9.]{0,31}$/;

/** Whether a text is a platform word relink would write: `os-arch` or `os-arch-libc`. */
export function isPlatform(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 80) return false;
  const parts = value.split('-');
  return (parts.length === 2 || parts.length === 3) && parts.every((p) => PART.test(p));
}

/** `uname -s` to Node's process.platform. */
const OS: Readonly<Record<string, string>> = {
  Linux: 'linux',
  Darwin: 'darwin',
  FreeBSD: 'freebsd',
  OpenBSD: 'openbsd',
  SunOS: 'sunos',
};

/** `uname -m` to Node's process.arch. */
const ARCH: Readonly<Record<string, string>> = {
  x86_64: 'x64',
  amd64: 'x64',
  aarch64: 'arm64',
  arm64: 'arm64',
  armv6l: 'arm',
  armv7l: 'arm',
  i386: 'ia32',
  i686: 'ia32',
  ppc64le: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  loongarch64: 'loong64',
};

/** A word as the node printed it: letters, digits, `_`, `.`, `-`, and short; anything else is no answer. */
const RAW = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * Asks a node what it is, changing nothing: `os=`, `arch=` (uname -s, uname -m), `glibc=` (getconf
 * GNU_LIBC_VERSION, empty where the libc is not glibc) and `musl=yes|no` (a musl loader in /lib).
 */
export function platformProbe(): Command {
  const script = [
    'echo "os=$(uname -s)"',
    'echo "arch=$(uname -m)"',
    'echo "glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null)"',
    'if ls /lib/ld-musl-* >/dev/null 2>&1; then echo musl=yes; else echo musl=no; fi',
  ].join('; ');
  return ['sh', '-c', script];
}

export interface NodePlatform {
  /** The platform word, e.g. `linux-x64-glibc2.36`. */
  readonly platform: string;
  /** What `uname -m` said (validated), e.g. `x86_64`. */
  readonly machine: string;
  /** The libc in words: `glibc 2.36`, `musl`, or `unknown`. */
  readonly libc: string;
}

/**
 * The platform of a node from what platformProbe printed (or any output holding its key=value lines).
 * Nothing a node prints is trusted: a value that is not a plain short word leaves the answer undefined.
 */
export function parsePlatform(stdout: string): NodePlatform | undefined {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(os|arch|glibc|musl)=(.*)$/.exec(line.trim());
    if (m && !kv.has(m[1]!)) kv.set(m[1]!, m[2]!.trim());
  }
  const os = kv.get('os') ?? '';
  const machine = kv.get('arch') ?? '';
  if (!RAW.test(os) || !RAW.test(machine)) return undefined;
  const word = (raw: string, names: Readonly<Record<string, string>>) =>
    names[raw] ?? raw.toLowerCase().replace(/[^a-z0-9.]/g, '');
  const glibc = /^glibc (\d{1,3}\.\d{1,4})$/.exec(kv.get('glibc') ?? '')?.[1];
  const libcPart = glibc ? `glibc${glibc}` : kv.get('musl') === 'yes' ? 'musl' : undefined;
  const osPart = word(os, OS);
  const parts = [osPart, word(machine, ARCH), ...(osPart === 'linux' && libcPart ? [libcPart] : [])];
  const platform = parts.join('-');
  if (!isPlatform(platform)) return undefined;
  const libc = glibc ? `glibc ${glibc}` : libcPart === 'musl' ? 'musl' : 'unknown';
  return { platform, machine, libc };
}

/**
 * Where a build happens and where its release runs differ in what matters to native code: OS or
 * architecture, libc family, or a glibc newer on the build side (a binary linked against a newer glibc
 * does not load under an older one; an older one's loads under a newer).
 */
export function platformsDiffer(built: string, runs: string): boolean {
  if (built === runs) return false;
  const [bos, barch, blibc = ''] = built.split('-');
  const [ros, rarch, rlibc = ''] = runs.split('-');
  if (bos !== ros || barch !== rarch) return true;
  const b = /^glibc(\d+)\.(\d+)$/.exec(blibc);
  const r = /^glibc(\d+)\.(\d+)$/.exec(rlibc);
  if (!b || !r) return blibc !== rlibc;
  const version = (m: RegExpExecArray) => Number(m[1]) * 10_000 + Number(m[2]);
  return version(b) > version(r);
}
