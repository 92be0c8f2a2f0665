import { describe, expect, it } from 'vitest';
import { render } from '../../src/remote/tokens.js';
import { appendJournal, readJournal } from '../../src/remote/journal.js';
import {
  acquireLock,
  breakLock,
  refreshLock,
  releaseLock,
  TAKEOVER_BUSY,
  takeOverLock,
  thenReleaseLock,
} from '../../src/remote/lock.js';
import { tailLogs } from '../../src/remote/logs.js';
import { inside, layout, releaseDir } from '../../src/remote/paths.js';
import {
  checkWritable,
  linkShared,
  removeReleases,
  unpackRelease,
  writeReleaseFile,
} from '../../src/remote/release.js';
import {
  JOURNAL_FAILED,
  readCurrent,
  relinkAndJournal,
  relinkCurrent,
  runInRelease,
  unlinkCurrent,
} from '../../src/remote/relink.js';
import { inspectNode, parseInspection, SECTION } from '../../src/remote/inspect.js';

const l = layout('/srv/app/');
const R = 'hello_prod_v1.1.0_main_20261121-170203_ana';

describe('paths', () => {
  it('lays out deployTo', () => {
    expect(l.current).toBe('/srv/app/current');
    expect(l.journal).toBe('/srv/app/.relink/journal.jsonl');
    expect(l.lock).toBe('/srv/app/.relink/lock');
  });

  it.each(['', '.', '..', '../x', 'a/b', '-rf', 'x..y', 'a b'])('refuses the release name %j', (name) => {
    expect(() => releaseDir(l, name)).toThrow(/unsafe release name/);
  });

  it.each(['../etc', '/etc/passwd', 'a/../../b', '.'])('refuses shared path %j that leaves its base', (p) => {
    expect(() => inside('/srv/app/shared', p)).toThrow(/leaves/);
  });
});

describe('builders render exact shell text', () => {
  it('relinks current atomically through a temp name', () => {
    expect(render(relinkCurrent(l, R, 'run1'))).toBe(
      `test -d /srv/app/releases/${R} && ln -sfn releases/${R} /srv/app/.current-run1 && mv -Tf /srv/app/.current-run1 /srv/app/current`,
    );
    expect(render(unlinkCurrent(l, 'run1'))).toBe(
      `{ grep -qF '"run":"run1"' /srv/app/.relink/lock/owner.json 2>/dev/null || exit 96 ; } && rm -f /srv/app/current`,
    );
    expect(render(readCurrent(l))).toBe('readlink /srv/app/current || true');
  });

  it('unpacks into a fresh release dir and removes the upload', () => {
    expect(render(unpackRelease(l, R, '/srv/app/.relink/incoming/x.tar.gz'))).toBe(
      `rm -rf /srv/app/releases/${R} && mkdir -p /srv/app/releases/${R} && tar -xzf /srv/app/.relink/incoming/x.tar.gz -C /srv/app/releases/${R} --no-same-owner --no-overwrite-dir && rm -f /srv/app/.relink/incoming/x.tar.gz`,
    );
  });

  it('removes releases and their half-uploaded tarballs', () => {
    expect(render(removeReleases(l, ['a1', 'b2']))).toBe(
      'rm -rf /srv/app/releases/a1 /srv/app/.relink/incoming/a1.tar.gz /srv/app/.relink/incoming/a1.delta.tar.gz ' +
        '/srv/app/releases/b2 /srv/app/.relink/incoming/b2.tar.gz /srv/app/.relink/incoming/b2.delta.tar.gz',
    );
    expect(render(removeReleases(l, []))).toBe('true');
  });

  it('links shared dirs and requires shared files', () => {
    expect(render(linkShared(l, 'r1', ['log'], ['config/.env']))).toBe(
      'mkdir -p /srv/app/shared/log /srv/app/releases/r1 && rm -rf /srv/app/releases/r1/log && ln -s /srv/app/shared/log /srv/app/releases/r1/log' +
        " && { test -e /srv/app/shared/config/.env || { echo 'shared file missing on the node: /srv/app/shared/config/.env' >&2 && exit 3 ; } ; }" +
        ' && mkdir -p /srv/app/releases/r1/config && rm -rf /srv/app/releases/r1/config/.env && ln -s /srv/app/shared/config/.env /srv/app/releases/r1/config/.env',
    );
  });

  it('writes files from stdin with a mode, never with the content on the command line', () => {
    expect(render(writeReleaseFile(l, 'r1', 'app.env', 0o600))).toBe(
      'mkdir -p /srv/app/releases/r1 && umask 077 && cat > /srv/app/releases/r1/app.env.relink-tmp && chmod 600 /srv/app/releases/r1/app.env.relink-tmp && mv -f /srv/app/releases/r1/app.env.relink-tmp /srv/app/releases/r1/app.env',
    );
  });

  it('checks that deployTo is writable', () => {
    expect(render(checkWritable(l))).toBe(
      'mkdir -p /srv/app/.relink/incoming /srv/app/releases /srv/app/shared && test -w /srv/app && test -w /srv/app/releases',
    );
  });

  it('runs user commands through sh -c with quoted values', () => {
    expect(render(runInRelease('/srv/app/releases/r1', 'sh bin/restart.sh', { RELINK_VERSION: 'v1 $(x)' }))).toBe(
      "cd /srv/app/releases/r1 && exec env 'RELINK_VERSION=v1 $(x)' sh -c 'sh bin/restart.sh'",
    );
  });

  it('appends journal records as single quoted values', () => {
    expect(render(appendJournal(l, [{ event: "it's", n: 1 }]))).toBe(
      `mkdir -p /srv/app/.relink && printf '%s\\n' '{"event":"it'\\''s","n":1}' >> /srv/app/.relink/journal.jsonl`,
    );
    expect(render(readJournal(l))).toBe('cat /srv/app/.relink/journal.jsonl 2>/dev/null || true');
  });

  it('locks with mkdir and releases only its own lock', () => {
    expect(render(acquireLock(l, { run: 'r1' }))).toBe(
      `mkdir -p /srv/app/.relink && mkdir /srv/app/.relink/lock && printf '%s\\n' '{"run":"r1"}' > /srv/app/.relink/lock/owner.json`,
    );
    expect(render(releaseLock(l, 'r1'))).toBe(
      `grep -qF '"run":"r1"' /srv/app/.relink/lock/owner.json 2>/dev/null && rm -rf /srv/app/.relink/lock || true`,
    );
    expect(render(breakLock(l))).toBe('rm -rf /srv/app/.relink/lock');
    expect(render(refreshLock(l, 'r1', { run: 'r1', heartbeat: 't2' }))).toBe(
      `{ grep -qF '"run":"r1"' /srv/app/.relink/lock/owner.json 2>/dev/null || exit 96 ; } && printf '%s\\n' '{"run":"r1","heartbeat":"t2"}' > /srv/app/.relink/lock/owner.json.tmp && mv -f /srv/app/.relink/lock/owner.json.tmp /srv/app/.relink/lock/owner.json`,
    );
  });

  it('tails logs with the pattern as a quoted value for find, never a shell glob', () => {
    expect(render(tailLogs(l, 'shared/log', '*.log', 200, true))).toBe(
      "cd /srv/app/shared/log && find . -maxdepth 1 -type f -name '*.log' -print0 | xargs -0 -r tail -q -n 200 -F",
    );
    expect(() => tailLogs(l, '../../etc', '*', 1, false)).toThrow(/leaves/);
  });

  it('inspects a node in one command and parses the answer', () => {
    expect(render(inspectNode(l))).toBe(
      `readlink /srv/app/current || true ; echo ${SECTION} ; ls -1 /srv/app/releases 2>/dev/null || true ; echo ${SECTION} ; cat /srv/app/.relink/lock/owner.json 2>/dev/null || true ; echo ${SECTION} ; cat /srv/app/.relink/journal.jsonl 2>/dev/null || true`,
    );
    const parsed = parseInspection(`releases/r2\n${SECTION}\nr1\nr2\n${SECTION}\n${SECTION}\n{"a":1}\n`, l);
    expect(parsed).toEqual({
      current: 'r2',
      onDisk: ['r1', 'r2'],
      strayDirs: [],
      lock: undefined,
      journal: '{"a":1}\n',
    });
  });
});

describe('rsync upload', () => {
  it('hard-links the files of the same content (checksums, not times) against the current release, sends every path over the protocol and runs the stand-in shell through the quoting function', async () => {
    const { rsyncArgs } = await import('../../src/transport/rsync.js');
    expect(rsyncArgs('/a/my stage', '/srv/app/releases/r2', '/srv/app/releases/r1')).toEqual([
      '-rlpDc',
      '--delete',
      '-s',
      '-e',
      `sh -c 'exec 4<&0; printf "%s " "$@" >&3; echo >&3; cat <&4 >&3 & cat <&3; kill $! 2>/dev/null; exit 0' relink-rsh`,
      '--link-dest=/srv/app/releases/r1',
      '/a/my stage/',
      'node:/srv/app/releases/r2/',
    ]);
  });

  it('runs only `rsync --server` with one word of flags on the node', async () => {
    const { serverCommand } = await import('../../src/transport/rsync.js');
    expect(serverCommand('node rsync --server -slDtpre.iLsfxCIvu \n')).toEqual([
      'rsync',
      '--server',
      '-slDtpre.iLsfxCIvu',
    ]);
    expect(() => serverCommand('node rsync --server -slDtpre.iLsfxCIvu . /etc/')).toThrow(
      /refusing an unexpected rsync remote command/,
    );
    expect(() => serverCommand('node rsync --server -lDtpre.iLsfxCIvu')).toThrow(/refusing/);
    expect(() => serverCommand('node rm -rf /')).toThrow(/refusing/);
    expect(() => serverCommand('node rsync --server -s;reboot')).toThrow(/refusing/);
  });
});

describe('combined round trips, run in a real shell', () => {
  const sh = async (command: string) => {
    const { spawnSync } = await import('node:child_process');
    return spawnSync('sh', ['-c', command], { encoding: 'utf8' }).status;
  };
  const sandbox = async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-sh-'));
    return { fs, path, dir, l: layout(dir) };
  };

  it('relinkAndJournal: a failed relink journals nothing; a failed journal after a good relink exits JOURNAL_FAILED with current moved', async () => {
    const { fs, path, dir, l } = await sandbox();
    try {
      const line = appendJournal(l, [{ event: 'activated' }]);
      expect(await sh(render(acquireLock(l, { run: 'run1' })))).toBe(0);
      expect(await sh(render(relinkAndJournal(l, R, 'run1', line)))).not.toBe(0);
      expect(fs.existsSync(l.journal)).toBe(false);
      expect(fs.existsSync(path.join(dir, 'current'))).toBe(false);
      fs.mkdirSync(releaseDir(l, R), { recursive: true });
      fs.mkdirSync(l.journal, { recursive: true }); // a directory where the journal file should be: the append fails
      expect(await sh(render(relinkAndJournal(l, R, 'run1', line)))).toBe(JOURNAL_FAILED);
      expect(fs.readlinkSync(path.join(dir, 'current'))).toBe(`releases/${R}`);
      fs.rmSync(l.journal, { recursive: true });
      expect(await sh(render(relinkAndJournal(l, R, 'run2', line, 'run1')))).toBe(0);
      expect(fs.readFileSync(l.journal, 'utf8')).toBe('{"event":"activated"}\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("thenReleaseLock: the lock goes even when the journal line fails, and the exit status is the journal's", async () => {
    const { fs, dir, l } = await sandbox();
    try {
      const line = appendJournal(l, [{ event: 'run_finished' }]);
      expect(await sh(render(acquireLock(l, { run: 'r1' })))).toBe(0);
      fs.mkdirSync(l.journal, { recursive: true });
      expect(await sh(render(thenReleaseLock(l, 'r1', line)))).not.toBe(0);
      expect(fs.existsSync(l.lock)).toBe(false);
      fs.rmSync(l.journal, { recursive: true });
      expect(await sh(render(acquireLock(l, { run: 'r2' })))).toBe(0);
      // Another run's lock stays.
      expect(await sh(render(thenReleaseLock(l, 'r1', line)))).toBe(0);
      expect(fs.existsSync(l.lock)).toBe(true);
      expect(await sh(render(thenReleaseLock(l, 'r2', line)))).toBe(0);
      expect(fs.existsSync(l.lock)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takeOverLock: of two runs that take over the same dead lock at once, exactly one wins; neither deletes the other', async () => {
    const { fs, path, dir, l } = await sandbox();
    const { spawn } = await import('node:child_process');
    const run = (command: string) =>
      new Promise<number>((resolve) => spawn('sh', ['-c', command]).on('exit', (code) => resolve(code ?? -1)));
    try {
      for (let round = 0; round < 20; round++) {
        fs.rmSync(l.lock, { recursive: true, force: true });
        expect(await sh(render(acquireLock(l, { run: 'dead' })))).toBe(0);
        const codes = await Promise.all(['a', 'b'].map((id) => run(render(takeOverLock(l, 'dead', { run: id })))));
        expect(codes.filter((c) => c === 0)).toHaveLength(1);
        const winner = codes[0] === 0 ? 'a' : 'b';
        expect(fs.readFileSync(path.join(l.lock, 'owner.json'), 'utf8')).toBe(`{"run":"${winner}"}\n`);
        expect(fs.existsSync(`${l.lock}.takeover`)).toBe(false);
      }
      // A lock that no longer names the dead run is left alone.
      expect(await sh(render(takeOverLock(l, 'dead', { run: 'c' })))).not.toBe(0);
      expect(fs.readFileSync(path.join(l.lock, 'owner.json'), 'utf8')).not.toContain('"c"');
      // A takeover under way elsewhere: busy; a guard left by a dead taker over a minute ago: cleared.
      fs.mkdirSync(`${l.lock}.takeover`);
      expect(await sh(render(takeOverLock(l, 'a', { run: 'd' })))).toBe(TAKEOVER_BUSY);
      const old = new Date(Date.now() - 5 * 60_000);
      fs.utimesSync(`${l.lock}.takeover`, old, old);
      fs.rmSync(l.lock, { recursive: true });
      expect(await sh(render(acquireLock(l, { run: 'dead2' })))).toBe(0);
      expect(await sh(render(takeOverLock(l, 'dead2', { run: 'e' })))).toBe(0);
      expect(fs.readFileSync(path.join(l.lock, 'owner.json'), 'utf8')).toBe('{"run":"e"}\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
