import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeOwner, type LockOwner, lockHealth, parseOwner, pidGone } from '../../src/gates/lock.js';
import { isMachineId, machineId, machineIdFile } from '../../src/gates/machine-id.js';
import { appendJournal } from '../../src/remote/journal.js';
import { acquireLock, LOCK_LOST, reclaimLock, refreshLock, whileLocked } from '../../src/remote/lock.js';
import { layout, releaseDir } from '../../src/remote/paths.js';
import { relinkAndJournal, unlinkCurrent } from '../../src/remote/relink.js';
import { render } from '../../src/remote/tokens.js';

const l = layout('/srv/app');
const R = 'hello_prod_v1.1.0_main_20261121-170203_ana';
const GUARD = `{ grep -qF '"run":"run1"' /srv/app/.relink/lock/owner.json 2>/dev/null || exit 96 ; }`;

describe('lock guards render exact shell text', () => {
  it('whileLocked: the command runs only while owner.json names the run, else exit 96', () => {
    expect(LOCK_LOST).toBe(96);
    expect(render(whileLocked(l, 'run1', ['true']))).toBe(`${GUARD} && true`);
  });

  it('relinkAndJournal and unlinkCurrent check the lock in the same command, before mv -T or rm', () => {
    const journal = appendJournal(l, [{ event: 'activated' }]);
    expect(render(relinkAndJournal(l, R, 'run1', journal))).toBe(
      `${GUARD} && test -d /srv/app/releases/${R} && ln -sfn releases/${R} /srv/app/.current-run1` +
        ' && mv -Tf /srv/app/.current-run1 /srv/app/current' +
        ` && { { mkdir -p /srv/app/.relink && printf '%s\\n' '{"event":"activated"}' >> /srv/app/.relink/journal.jsonl ; } || exit 97 ; }`,
    );
    // Under a freeze (rollback --emergency --force), the lock to check is the freeze's.
    expect(render(relinkAndJournal(l, R, 'run1', journal, 'freeze-7'))).toMatch(
      /^\{ grep -qF '"run":"freeze-7"' \/srv\/app\/\.relink\/lock\/owner\.json 2>\/dev\/null \|\| exit 96 ; \} && test -d /,
    );
    expect(render(unlinkCurrent(l, 'run1'))).toBe(`${GUARD} && rm -f /srv/app/current`);
  });

  it('refreshLock exits 96 when the lock is not this run’s; reclaimLock takes a removed lock again', () => {
    expect(render(refreshLock(l, 'run1', { run: 'run1', heartbeat: 't2' }))).toBe(
      `${GUARD} && printf '%s\\n' '{"run":"run1","heartbeat":"t2"}' > /srv/app/.relink/lock/owner.json.tmp` +
        ' && mv -f /srv/app/.relink/lock/owner.json.tmp /srv/app/.relink/lock/owner.json',
    );
    expect(render(reclaimLock(l, 'run1', { run: 'run1' }))).toBe(
      `grep -qF '"run":"run1"' /srv/app/.relink/lock/owner.json 2>/dev/null || { mkdir -p /srv/app/.relink` +
        ` && mkdir /srv/app/.relink/lock && printf '%s\\n' '{"run":"run1"}' > /srv/app/.relink/lock/owner.json` +
        ' && echo retaken ; }',
    );
  });

  it('a hostile run id stays one quoted value', () => {
    expect(render(whileLocked(l, "r'1$(rm -rf /)", ['true']))).toBe(
      `{ grep -qF '"run":"r'\\''1$(rm -rf /)"' /srv/app/.relink/lock/owner.json 2>/dev/null || exit 96 ; } && true`,
    );
  });
});

describe('lock guards, run in a real shell', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const sandbox = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-guard-'));
    dirs.push(dir);
    return { dir, l: layout(dir), owner: path.join(layout(dir).lock, 'owner.json') };
  };
  const sh = (command: string) => {
    const r = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout };
  };

  it('relink: moves current only while the lock names the run; removed or taken: exit 96 and current stays', () => {
    const { dir, l } = sandbox();
    const current = path.join(dir, 'current');
    const line = appendJournal(l, [{ event: 'activated' }]);
    fs.mkdirSync(releaseDir(l, R), { recursive: true });
    // No lock at all (removed by unlock --force): refused, nothing journaled.
    expect(sh(render(relinkAndJournal(l, R, 'run1', line))).code).toBe(LOCK_LOST);
    expect(fs.existsSync(current)).toBe(false);
    expect(fs.existsSync(l.journal)).toBe(false);
    // Another run's lock (taken over), even one whose id starts like ours: refused.
    expect(sh(render(acquireLock(l, { run: 'run10', kind: 'run' }))).code).toBe(0);
    expect(sh(render(relinkAndJournal(l, R, 'run1', line))).code).toBe(LOCK_LOST);
    expect(fs.existsSync(current)).toBe(false);
    // This run's lock: it moves and journals.
    fs.rmSync(l.lock, { recursive: true });
    expect(sh(render(acquireLock(l, { run: 'run1', kind: 'run' }))).code).toBe(0);
    expect(sh(render(relinkAndJournal(l, R, 'run1', line))).code).toBe(0);
    expect(fs.readlinkSync(current)).toBe(`releases/${R}`);
    expect(fs.readFileSync(l.journal, 'utf8')).toBe('{"event":"activated"}\n');
    // unlink: the same guard.
    fs.rmSync(l.lock, { recursive: true });
    expect(sh(render(unlinkCurrent(l, 'run1'))).code).toBe(LOCK_LOST);
    expect(fs.existsSync(current)).toBe(true);
    expect(sh(render(acquireLock(l, { run: 'run1' }))).code).toBe(0);
    expect(sh(render(unlinkCurrent(l, 'run1'))).code).toBe(0);
    expect(fs.existsSync(current)).toBe(false);
  });

  it('refreshLock: a new heartbeat only in this run’s lock; 96 for a removed or foreign lock, which stays as it was', () => {
    const { l, owner } = sandbox();
    expect(sh(render(refreshLock(l, 'run1', { run: 'run1', heartbeat: 't1' }))).code).toBe(LOCK_LOST);
    expect(fs.existsSync(l.lock)).toBe(false);
    expect(sh(render(acquireLock(l, { run: 'run1', heartbeat: 't0' }))).code).toBe(0);
    expect(sh(render(refreshLock(l, 'run1', { run: 'run1', heartbeat: 't1' }))).code).toBe(0);
    expect(fs.readFileSync(owner, 'utf8')).toBe('{"run":"run1","heartbeat":"t1"}\n');
    fs.rmSync(l.lock, { recursive: true });
    expect(sh(render(acquireLock(l, { run: 'other', heartbeat: 'x' }))).code).toBe(0);
    expect(sh(render(refreshLock(l, 'run1', { run: 'run1', heartbeat: 't2' }))).code).toBe(LOCK_LOST);
    expect(fs.readFileSync(owner, 'utf8')).toBe('{"run":"other","heartbeat":"x"}\n');
  });

  it('reclaimLock: its own lock stays; a removed one is taken again (retaken); a foreign one is left alone', () => {
    const { l, owner } = sandbox();
    expect(sh(render(acquireLock(l, { run: 'run1', n: 1 }))).code).toBe(0);
    expect(sh(render(reclaimLock(l, 'run1', { run: 'run1', n: 2 })))).toEqual({ code: 0, stdout: '' });
    expect(fs.readFileSync(owner, 'utf8')).toBe('{"run":"run1","n":1}\n');
    fs.rmSync(l.lock, { recursive: true });
    expect(sh(render(reclaimLock(l, 'run1', { run: 'run1', n: 2 })))).toEqual({ code: 0, stdout: 'retaken\n' });
    expect(fs.readFileSync(owner, 'utf8')).toBe('{"run":"run1","n":2}\n');
    fs.rmSync(l.lock, { recursive: true });
    expect(sh(render(acquireLock(l, { run: 'other' }))).code).toBe(0);
    expect(sh(render(reclaimLock(l, 'run1', { run: 'run1', n: 3 }))).code).not.toBe(0);
    expect(fs.readFileSync(owner, 'utf8')).toBe('{"run":"other"}\n');
  });
});

describe('a dead lock owner: its pid gone, on the machine with its machine id', () => {
  const base: LockOwner = {
    run: 'r1',
    kind: 'run',
    user: 'ana',
    host: os.hostname(),
    pid: 4242,
    machine: 'aa'.repeat(16),
    command: 'deploy prod v1',
    since: '2026-11-21T17:00:00Z',
    heartbeat: '2026-11-21T17:00:00Z',
  };
  const dead = () => false;

  it('same host name, another machine id (two CI containers): not dead, whatever the pid', () => {
    expect(pidGone(base, 'bb'.repeat(16), dead)).toBe(false);
  });

  it('the same machine id and the pid not running: dead', () => {
    expect(pidGone(base, 'aa'.repeat(16), dead)).toBe(true);
    expect(pidGone(base, 'aa'.repeat(16), () => true)).toBe(false);
    // Another host name changes nothing: the machine id decides.
    expect(pidGone({ ...base, host: 'elsewhere' }, 'aa'.repeat(16), dead)).toBe(true);
  });

  it('an owner without a machine id (older relink) is judged only by its heartbeat', () => {
    const { machine: _, ...old } = base;
    expect(pidGone(old, 'aa'.repeat(16), dead)).toBe(false);
    expect(pidGone(old, undefined, dead)).toBe(false);
    const fresh = lockHealth(old, new Date('2026-11-21T17:01:00Z'), 120_000, 'aa'.repeat(16));
    expect(fresh).toEqual({ stale: false, deadPid: false, heartbeatAgeMs: 60_000 });
    expect(lockHealth(old, new Date('2026-11-21T17:03:00Z'), 120_000, 'aa'.repeat(16)).stale).toBe(true);
  });

  it('a freeze is never dead', () => {
    expect(pidGone({ ...base, kind: 'freeze' }, 'aa'.repeat(16), dead)).toBe(false);
  });

  it('lockHealth and describeOwner use this machine’s id (RELINK_MACHINE_ID)', () => {
    const pid = 2 ** 22 + 12_345; // above pid_max on Linux: never running
    const saved = process.env.RELINK_MACHINE_ID;
    process.env.RELINK_MACHINE_ID = 'cc'.repeat(16);
    try {
      const now = new Date('2026-11-21T17:00:10Z');
      const here = { ...base, pid, machine: 'cc'.repeat(16) };
      expect(lockHealth(here, now, 120_000).deadPid).toBe(true);
      expect(describeOwner(JSON.stringify(here), now)).toMatch(/is not running on this machine/);
      const there = { ...base, pid, machine: 'dd'.repeat(16) };
      expect(lockHealth(there, now, 120_000).deadPid).toBe(false);
      expect(describeOwner(JSON.stringify(there), now)).not.toMatch(/not running/);
    } finally {
      if (saved === undefined) delete process.env.RELINK_MACHINE_ID;
      else process.env.RELINK_MACHINE_ID = saved;
    }
  });

  it('the owner record keeps a machine id of the right shape and drops anything else', () => {
    expect(parseOwner(JSON.stringify(base))?.machine).toBe('aa'.repeat(16));
    expect(parseOwner(JSON.stringify({ ...base, machine: '-rf' }))).not.toHaveProperty('machine');
    expect(parseOwner(JSON.stringify({ ...base, machine: 42 }))).not.toHaveProperty('machine');
  });
});

describe('the machine id', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const state = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-state-'));
    dirs.push(dir);
    return { XDG_STATE_HOME: dir } as NodeJS.ProcessEnv;
  };

  it('is made once under $XDG_STATE_HOME/relink/machine-id: 128 random bits in hex, mode 0600, then kept', () => {
    const env = state();
    const id = machineId(env);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const file = machineIdFile(env);
    expect(file).toBe(path.join(env.XDG_STATE_HOME!, 'relink', 'machine-id'));
    expect(fs.readFileSync(file, 'utf8')).toBe(`${id}\n`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['machine-id']);
    expect(machineId(env)).toBe(id);
    expect(machineId({ ...env })).toBe(id);
  });

  it('one written by another process first is the one used; a file that is not an id is replaced', () => {
    const env = state();
    const file = machineIdFile(env);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${'e'.repeat(32)}\n`);
    expect(machineId(env)).toBe('e'.repeat(32));
    const other = state();
    fs.mkdirSync(path.dirname(machineIdFile(other)), { recursive: true });
    fs.writeFileSync(machineIdFile(other), 'garbage\n');
    const id = machineId(other);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(fs.readFileSync(machineIdFile(other), 'utf8')).toBe(`${id}\n`);
  });

  it('RELINK_MACHINE_ID overrides it (tests); the default place is ~/.local/state/relink', () => {
    expect(machineId({ ...state(), RELINK_MACHINE_ID: 'ci-runner-1' })).toBe('ci-runner-1');
    expect(isMachineId('-x')).toBe(false);
    expect(machineIdFile({})).toBe(path.join(os.homedir(), '.local', 'state', 'relink', 'machine-id'));
  });
});
