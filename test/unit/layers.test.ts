import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const probes: string[] = [];

/** Writes a throwaway module into src/, runs the layer rules on it, and returns what they say. */
async function cruise(rel: string, text: string): Promise<{ code: number; out: string }> {
  const file = path.join(root, rel);
  probes.push(file);
  fs.writeFileSync(file, text);
  const bin = path.join(root, 'node_modules/.bin/depcruise');
  const args = [rel, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'];
  try {
    const { stdout } = await promisify(execFile)(bin, args, { cwd: root });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

afterEach(() => {
  for (const file of probes.splice(0)) fs.rmSync(file, { force: true });
});

describe('the layer rules (.dependency-cruiser.cjs)', () => {
  it('refuse an import from a pure builder up into the pipeline, naming the rule', async () => {
    const seen = await cruise('src/remote/zz-layer-probe.ts', "import '../pipeline/run.js';\nexport const x = 1;\n");
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('layer-core-imports-up: src/remote/zz-layer-probe.ts → src/pipeline/run.ts');
  });

  it('refuse a type-only import that points up as well', async () => {
    const seen = await cruise(
      'src/journal/zz-layer-probe.ts',
      "import type { Plan } from '../pipeline/phases/plan.js';\nexport type P = Plan;\n",
    );
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('layer-core-imports-up: src/journal/zz-layer-probe.ts');
  });

  it('refuse a process started outside src/transport/', async () => {
    const seen = await cruise(
      'src/gates/zz-layer-probe.ts',
      "import { spawn } from 'node:child_process';\nexport const s = spawn;\n",
    );
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('processes-and-sockets-only-in-transport: src/gates/zz-layer-probe.ts');
  });

  it('accept the same import inside src/transport/', async () => {
    const seen = await cruise(
      'src/transport/zz-layer-probe.ts',
      "import { spawn } from 'node:child_process';\nexport const s = spawn;\n",
    );
    expect(seen.out).not.toContain('processes-and-sockets-only-in-transport: src/transport/');
  });
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

describe('the two doors in the layer rules', () => {
  it('refuse a CLI verb importing the engine, naming the rule', async () => {
    const seen = await cruise('src/cli/zz-probe.ts', "import '../pipeline/run.js';\nexport const x = 1;\n");
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('doors-import-only-app: src/cli/zz-probe.ts → src/pipeline/run.ts');
  });

  it('refuse a type-only import of an engine shape in the dashboard', async () => {
    const seen = await cruise(
      'src/web/zz-probe.ts',
      "import type { RunDeps } from '../pipeline/context.js';\nexport type D = RunDeps;\n",
    );
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('doors-import-only-app: src/web/zz-probe.ts → src/pipeline/context.ts');
  });

  it('refuse the dashboard importing the CLI, naming the rule', async () => {
    const seen = await cruise('src/web/zz-probe.ts', "import '../cli/options.js';\nexport const x = 1;\n");
    expect(seen.code).not.toBe(0);
    expect(seen.out).toContain('web-not-into-cli: src/web/zz-probe.ts → src/cli/options.ts');
  });

  it('accept a door importing the operations, log/ and errors.ts', async () => {
    const seen = await cruise(
      'src/cli/zz-probe.ts',
      "import '../app/names.js';\nimport '../log/redact.js';\nimport '../errors.js';\nexport const x = 1;\n",
    );
    expect(seen.out).not.toContain('doors-import-only-app');
  });

  it('let nothing below the operations import them', async () => {
    const seen = await cruise('src/pipeline/zz-probe.ts', "import '../app/names.js';\nexport const x = 1;\n");
    expect(seen.out).toContain('layer-commands-imports-up: src/pipeline/zz-probe.ts → src/app/names.ts');
  });
});
