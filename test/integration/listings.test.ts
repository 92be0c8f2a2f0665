import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const LONG = 'Maximiliane Oberdorfer-Wallace';
const SPLIT = 'ana\nroot';

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
  expect((await project.deploy(['prod', 'v1.0.0', '--author', LONG])).code).toBe(0);
  expect((await project.deploy(['prod', 'v1.1.0', '--author', SPLIT])).code).toBe(0);
});
afterAll(() => {
  stopApps(sb);
  project.remove();
});

/** The text rows of `deploy history`, without its header. */
async function historyRows(): Promise<string[]> {
  const result = await project.deploy(['history', 'prod']);
  expect(result.code, result.stderr).toBe(0);
  const [header, ...rows] = result.stdout.trimEnd().split('\n');
  expect(header).toMatch(/^finished \(UTC\) +who +command +version +result +took +nodes +run$/);
  return rows;
}

describe('listings that read well', () => {
  it('history: an author with a newline keeps its row (shown as \\n), a 30-character author is printed whole', async () => {
    const rows = await historyRows();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/ ana\\nroot +deploy prod v1\.1\.0 +v1\.1\.0 +success /);
    expect(rows[1]).toContain(` ${LONG}  deploy prod v1.0.0`);
    // The columns line up: each row's command starts at the same column.
    expect(rows[0]!.indexOf('deploy prod')).toBe(rows[1]!.indexOf('deploy prod'));
  });

  it('rollback --to a release no node has: exit 2, naming deploy releases, nothing changed', async () => {
    const before = NODES.map((n) => [project.current(n), project.journal(n).length]);
    const result = await project.deploy(['rollback', 'prod', '--to', 'v9.9.9']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: rollback refused: no node has a release "v9\.9\.9" that passed a smoke test/);
    expect(result.stderr).toMatch(/Nothing was changed/);
    expect(result.stderr).toMatch(/next: see which releases each node has: deploy releases prod/);
    const forced = await project.deploy(['rollback', 'prod', '--to', 'v9.9.9', '--force']);
    expect(forced.code).toBe(2);
    expect(NODES.map((n) => [project.current(n), project.journal(n).length])).toEqual(before);
    for (const node of NODES) expect(project.lockExists(node)).toBe(false);
  });

  it('a rollback row says rollback --last / --to X, with the reason; the report row shows the emergency reason', async () => {
    expect((await project.deploy(['rollback', 'prod', '--last'])).code).toBe(0);
    const emergency = await project.deploy([
      'rollback',
      'prod',
      '--to',
      'v1.1.0',
      '--emergency',
      '--reason',
      'checkout down\nINC-7',
    ]);
    expect(emergency.code, emergency.stderr).toBe(0);
    const rows = await historyRows();
    expect(rows[0]).toMatch(
      / rollback prod --to v1\.1\.0 --emergency +v1\.1\.0 +success .* reason: checkout down\\nINC-7$/,
    );
    expect(rows[1]).toMatch(/ rollback prod --last +v1\.0\.0 +success /);
    expect(rows[1]).not.toMatch(/reason:/);
    expect(rows).toHaveLength(4);
    const report = await project.deploy(['report', 'last']);
    expect(report.stdout).toContain('| emergency | yes: checkout down\\nINC-7 |');
  });

  it('stats text shows what --json shows: poison overrides and emergency releases too', async () => {
    const text = (await project.deploy(['stats', 'prod'])).stdout;
    const json = cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout);
    expect(text).toMatch(new RegExp(`deploys +${json.deploys}: ${json.successes} ok, ${json.failures} failed`));
    expect(text).toMatch(
      new RegExp(`rollbacks +${json.rollbacks}: ${json.rollbacksNormal} normal, ${json.rollbacksEmergency} emergency`),
    );
    expect(text).toMatch(new RegExp(`poison overrides +${json.poisonOverrides} `));
    expect(text).toMatch(new RegExp(`emergency releases +${json.emergencyReleases} `));
    // dev's node2 is also a prod node, with the same deployTo: its journal holds prod's runs, counted in prod only.
    const all = cliJson('allStats', (await project.deploy(['stats', '--json'])).stdout);
    expect([all.environments.prod!.deploys, all.environments.dev!.deploys, all.total.deploys]).toEqual([2, 0, 2]);
    expect((await project.deploy(['history', 'dev'])).stdout).toBe('no runs recorded on the nodes of dev\n');
  });

  it('lock status: a freeze message with a newline and an escape sequence stays on its node row', async () => {
    const frozen = await project.deploy(['lock', 'prod', '-m', 'release freeze\n\x1b[2Jfor the audit']);
    expect(frozen.code, frozen.stderr).toBe(0);
    try {
      const status = await project.deploy(['lock', 'status', 'prod']);
      const lines = status.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(NODES.length);
      for (const [i, line] of lines.entries()) {
        expect(line).toMatch(new RegExp(`^${NODES[i]}  a freeze by .*: release freeze\\\\n\\\\x1b\\[2Jfor the audit$`));
      }
      expect(status.stdout).not.toContain('\x1b');
    } finally {
      expect((await project.deploy(['unlock', 'prod'])).code).toBe(0);
    }
  });

  it('releases and status: one row per release and node, the columns lined up', async () => {
    const releases = (await project.deploy(['releases', 'prod'])).stdout.trimEnd().split('\n');
    expect(releases.filter((l) => !l.startsWith('  '))).toEqual(NODES);
    const rows = releases.filter((l) => l.startsWith('  '));
    expect(rows.length).toBeGreaterThanOrEqual(NODES.length * 2);
    const nameAt = new Set(rows.map((l) => l.indexOf('hello_prod_')));
    expect(nameAt.size).toBe(1);
    const status = (await project.deploy(['status', 'prod'])).stdout.trimEnd().split('\n');
    expect(status).toHaveLength(NODES.length);
    for (const [i, line] of status.entries()) expect(line).toMatch(new RegExp(`^${NODES[i]}  v1\\.1\\.0 .* healthy `));
  });
});
