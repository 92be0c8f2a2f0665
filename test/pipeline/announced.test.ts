import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/pipeline/run.js';
import { fakeRun } from '../helpers/fake-run.js';

/** The run_finished record the run journaled on a node. */
function finished(run: ReturnType<typeof fakeRun>, node: string): Record<string, unknown> | undefined {
  const line = run.transport.commandsFor(node).find((c) => c.includes('run_finished'));
  const json = line?.match(/printf '%s\\n' '(\{.*?"event":"run_finished".*?\})'/)?.[1];
  return json ? (JSON.parse(json) as Record<string, unknown>) : undefined;
}

describe('a deploy that matched an announcement', () => {
  it('journals its id on every node and says in the report what differed from the plan', async () => {
    const run = fakeRun();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-announced-'));
    try {
      // Announced for v1.0.9 at 15:00; v1.1.0 goes out at 17:00 (the fake clock).
      const announcement = { id: 'a-12345678', version: 'v1.0.9', commit: 'c9'.repeat(20), at: '2026-11-21T15:00:00Z' };
      await deploy({ ...run.request, stateDir, announcement }, run.deps, run.source);
      for (const node of ['node1', 'node2', 'node3', 'node4']) {
        expect(finished(run, node)).toMatchObject({ result: 'success', announcement: 'a-12345678' });
      }
      const report = fs.readFileSync(path.join(stateDir, 'reports', 'run42.md'), 'utf8');
      expect(report).toContain('| announced | a-12345678 |');
      expect(report).toContain(
        '## Against the announced plan\n\n' +
          '- another version: v1.1.0 (c1c1c1c1c1c1) instead of the announced v1.0.9\n' +
          '- another time: started 2026-11-21T17:00:00.000Z, announced for 2026-11-21T15:00:00Z (2h 0m later)\n',
      );
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('without one, journals and reports nothing of announcements', async () => {
    const run = fakeRun();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-announced-'));
    try {
      await deploy({ ...run.request, stateDir }, run.deps, run.source);
      expect(finished(run, 'node1')).not.toHaveProperty('announcement');
      expect(fs.readFileSync(path.join(stateDir, 'reports', 'run42.md'), 'utf8')).not.toContain('announced');
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
