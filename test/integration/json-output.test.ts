import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shapes } from '../../scripts/docs/json-shapes.js';
import { Project, readSandbox, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const seen = new Set<string>();

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
  // Only prod: the helper's dev environment shares node2's deployTo.
  fs.rmSync(path.join(project.dir, 'hosts', 'dev.yaml'));
});

afterAll(() => {
  stopApps(sb);
  project.remove();
});

/** Runs `args --json` and parses its output with the documented shape of `command` (strict: no key more or less). */
async function documented(command: string, args: string[], code = 0): Promise<unknown> {
  const shape = shapes.find((s) => s.command === command);
  expect(shape, `no documented shape for ${command}`).toBeDefined();
  const r = await project.deploy([...args, '--json']);
  expect([r.code, r.stderr], args.join(' ')).toEqual([code, expect.any(String)]);
  const parsed = shape!.schema.safeParse(JSON.parse(r.stdout));
  expect(parsed.error?.issues ?? [], `${args.join(' ')} --json against docs/reference/json.md`).toEqual([]);
  seen.add(command);
  return parsed.data;
}

const commit = (rev: string) =>
  execFileSync('git', ['-C', project.appRepo, 'rev-parse', `${rev}^{commit}`], { encoding: 'utf8' }).trim();

describe('the --json output is what docs/reference/json.md says (scripts/docs/json-shapes.ts)', () => {
  it('for every command that has --json, after a deploy, a poison, a cure and a freeze', async () => {
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    await documented('deploy plan <env> <version> --json', ['plan', 'prod', 'v1.1.0']);
    await documented('deploy status <env> --json', ['status', 'prod']);
    await documented('deploy releases <env> --json', ['releases', 'prod']);
    await documented('deploy history <env> --json', ['history', 'prod']);
    await documented('deploy stats <env> --json', ['stats', 'prod']);
    await documented('deploy stats --json', ['stats']);
    await documented('deploy doctor <env> --json', ['doctor', 'prod']);

    const poisoned = await project.deploy(['poison', commit('v1.0.0'), '-m', 'a known bug', '--ticket', 'OPS-1']);
    expect(poisoned.code).toBe(0);
    const id = poisoned.stdout.trim();
    expect((await project.deploy(['cure', id, commit('v1.1.0')])).code).toBe(0);
    const list = (await documented('deploy poison list [--open] --json', ['poison', 'list'])) as unknown[];
    expect(list).toHaveLength(1);
    await documented('deploy poison show <id> --json', ['poison', 'show', id]);
    const open = (await documented('deploy check <rev> --json', ['check', 'v1.0.0'], 3)) as { open: unknown[] };
    expect(open.open).toHaveLength(1);
    const cured = (await documented('deploy check <rev> --json', ['check', 'v1.2.0'])) as { cured: unknown[] };
    expect(cured.cured).toHaveLength(1);
    const impact = (await documented('deploy impact <id> --json', ['impact', id])) as { affected: unknown[] };
    expect(impact.affected).toHaveLength(sb.nodes.length);

    await documented('deploy lock status <env> --json', ['lock', 'status', 'prod']);
    expect((await project.deploy(['lock', 'prod', '-m', 'json shapes'])).code).toBe(0);
    const frozen = (await documented('deploy lock status <env> --json', ['lock', 'status', 'prod'])) as {
      nodes: { owner?: { kind: string } }[];
    };
    expect(frozen.nodes.every((n) => n.owner?.kind === 'freeze')).toBe(true);
    await documented('deploy status <env> --json', ['status', 'prod']);
    expect((await project.deploy(['unlock', 'prod'])).code).toBe(0);

    expect(shapes.map((s) => s.command).filter((c) => !seen.has(c))).toEqual([]);
  });
});
