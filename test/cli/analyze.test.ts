// `deploy analyze <env>` through the built CLI: refused without an analysis, and with one whose Prometheus does
// not answer, each query fails with the reason, exit 1, in the `--json` shape.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliJson } from '../helpers/json.js';
import { distDir } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
let dir: string;

async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [bin, ...args], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-cli-analyze-'));
  fs.mkdirSync(path.join(dir, 'hosts'));
  // Nodes nobody listens for: what they run is unknown, the queries still go out.
  const hosts =
    'pre: web1\nhosts:\n  - name: web1\n    address: 127.0.0.1\n    port: 1\n' +
    '  - name: web.2\n    address: 127.0.0.1\n    port: 1\n';
  for (const env of ['prod', 'dev', 'stage']) fs.writeFileSync(path.join(dir, 'hosts', `${env}.yaml`), hosts);
  const analysis = {
    prometheus: { url: 'http://127.0.0.1:1' },
    queries: [{ name: 'errors', query: 'errors{node=~"{{ nodes.names }}"}', condition: '< 0.01' }],
  };
  // An Alertmanager nobody listens for either.
  const alerts = { url: 'http://127.0.0.1:2', matchers: ['severity="critical"', 'node=~"{{ nodes.names }}"'] };
  const staged = JSON.stringify({ ...analysis, alerts });
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    "export default { project: 'hello', repo: './app', deployTo: '/srv/cli-test', ssh: { connectTimeoutMs: 2000 }, " +
      `environments: { prod: { analysis: ${JSON.stringify(analysis)} }, stage: { analysis: ${staged} } } };\n`,
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('deploy analyze', () => {
  it('is a verb with --json', async () => {
    const help = await cli(['analyze', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/deploy analyze <env>/);
    expect((await cli(['--help'])).stdout).toMatch(/deploy analyze <env>\s+run the analysis' queries/);
  });

  it('refuses an environment without an analysis (exit 2)', async () => {
    const result = await cli(['analyze', 'dev']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/dev has no analysis to run/);
    expect(result.stderr).toMatch(/docs\/analysis\.md/);
  });

  it('says why a query could not be measured, and exits 1', async () => {
    const result = await cli(['analyze', 'prod', '--json']);
    expect(result.code, result.stderr).toBe(1);
    const json = cliJson('analyze', result.stdout);
    expect(json.ok).toBe(false);
    expect(json.canary).toEqual({ nodes: ['web1'], release: 'unknown', version: 'unknown' });
    expect(json.baseline.nodes).toEqual(['web.2']);
    expect(json.queries).toEqual([
      {
        query: 'errors',
        canary: null,
        condition: '< 0.01',
        ok: false,
        why: expect.stringMatching(/^cannot reach Prometheus at http:\/\/127\.0\.0\.1:1: /),
        promql: 'errors{node=~"web1"}',
      },
    ]);
    const human = await cli(['analyze', 'prod']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/errors no data \(< 0\.01\): FAILED, cannot reach Prometheus/);
    expect(human.stdout).toMatch(/FAILED: a query does not hold/);
  });

  it('says why the alerts could not be read: a failed check, in the --json shape', async () => {
    const result = await cli(['analyze', 'stage', '--json']);
    expect(result.code, result.stderr).toBe(1);
    expect(cliJson('analyze', result.stdout).alerts).toEqual({
      source: 'alertmanager',
      url: 'http://127.0.0.1:2',
      matchers: ['severity="critical"', 'node=~"web1"'],
      ok: false,
      count: null,
      firing: [],
      why: expect.stringMatching(/^cannot reach Alertmanager at http:\/\/127\.0\.0\.1:2: /),
    });
    const human = await cli(['analyze', 'stage']);
    expect(human.stdout).toMatch(/alerts no data \(none firing\): FAILED, cannot reach Alertmanager/);
    expect(human.stdout).toContain('alertmanager: http://127.0.0.1:2 {severity="critical",node=~"web1"}');
  });
});
