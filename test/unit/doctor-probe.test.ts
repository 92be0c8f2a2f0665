import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorProbe, parseDoctor } from '../../src/remote/doctor.js';
import { layout } from '../../src/remote/paths.js';
import { render } from '../../src/remote/tokens.js';

/** A PATH with only these commands (symlinks to the machine's own), for a node that lacks the others. */
function pathWith(names: readonly string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-path-'));
  for (const name of names) {
    const real = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    fs.symlinkSync(real, path.join(dir, name));
  }
  return dir;
}

describe("doctor's probe, run in a real shell", () => {
  const base = ['sh', 'tar', 'mv', 'grep', 'date', 'df', 'cat', 'dirname'];
  const l = layout(fs.mkdtempSync(path.join(os.tmpdir(), 'relink-doctor-')));
  const probe = (names: readonly string[]) =>
    parseDoctor(
      execFileSync('sh', ['-c', render(doctorProbe(l))], { encoding: 'utf8', env: { PATH: pathWith(names) } }),
    );

  it('finds what each fan-out mode needs on a node: rsync and ssh (relay), curl or wget (pull)', () => {
    const bare = probe(base);
    expect(bare).toMatchObject({ tar: true, mvT: true, rsync: false, ssh: false, fetch: false });
    expect(probe([...base, 'rsync', 'ssh'])).toMatchObject({ rsync: true, ssh: true, fetch: false });
    expect(probe([...base, 'curl'])).toMatchObject({ fetch: true });
  });
});
