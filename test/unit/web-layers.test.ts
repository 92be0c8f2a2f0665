import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const probes: string[] = [];

async function cruise(rel: string, text: string): Promise<{ code: number; out: string }> {
  const file = path.join(root, rel);
  probes.push(file);
  fs.writeFileSync(file, text);
  const bin = path.join(root, 'node_modules/.bin/depcruise');
  try {
    const { stdout } = await promisify(execFile)(
      bin,
      [rel, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
      {
        cwd: root,
      },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

afterEach(() => {
  for (const file of probes.splice(0)) fs.rmSync(file, { force: true });
});

describe('the dashboard in the layer rules', () => {
  it('keeps its socket in src/transport/: the HTTP server package is refused in src/web/', async () => {
    const seen = await cruise(
      'src/web/zz-probe.ts',
      "import { serve } from '@hono/node-server';\nexport const s = serve;\n",
    );
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('processes-and-sockets-only-in-transport: src/web/zz-probe.ts');
  });

  it('refuses an npm package that starts processes outside transport too (zx), not only node builtins', async () => {
    const seen = await cruise('src/gates/zz-probe.ts', "import { $ } from 'zx';\nexport const s = $;\n");
    expect(seen.out).toContain('processes-and-sockets-only-in-transport: src/gates/zz-probe.ts');
  });

  it('lets nothing below the cli layer import the dashboard', async () => {
    const seen = await cruise('src/pipeline/zz-probe.ts', "import '../web/html.js';\nexport const x = 1;\n");
    expect(seen.out).toContain('layer-commands-imports-up: src/pipeline/zz-probe.ts');
  });
});
