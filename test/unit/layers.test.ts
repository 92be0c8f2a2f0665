import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** Throwaway modules, each in the layer it probes; one run of the layer rules checks them all. */
const PROBES = {
  builderUp: ['src/remote/zz-probe-up.ts', "import '../pipeline/run.js';\nexport const x = 1;\n"],
  typeUp: [
    'src/journal/zz-probe-type.ts',
    "import type { Plan } from '../pipeline/phases/plan.js';\nexport type P = Plan;\n",
  ],
  spawnInGates: [
    'src/gates/zz-probe-spawn.ts',
    "import { spawn } from 'node:child_process';\nexport const s = spawn;\n",
  ],
  spawnInTransport: [
    'src/transport/zz-probe-spawn.ts',
    "import { spawn } from 'node:child_process';\nexport const s = spawn;\n",
  ],
  serverInWeb: ['src/web/zz-probe-serve.ts', "import { serve } from '@hono/node-server';\nexport const s = serve;\n"],
  zxInGates: ['src/gates/zz-probe-zx.ts', "import { $ } from 'zx';\nexport const s = $;\n"],
  webBelow: ['src/pipeline/zz-probe-web.ts', "import '../web/html.js';\nexport const x = 1;\n"],
  cliToEngine: ['src/cli/zz-probe-engine.ts', "import '../pipeline/run.js';\nexport const x = 1;\n"],
  webToEngineType: [
    'src/web/zz-probe-type.ts',
    "import type { RunDeps } from '../pipeline/context.js';\nexport type D = RunDeps;\n",
  ],
  webToCli: ['src/web/zz-probe-cli.ts', "import '../cli/options.js';\nexport const x = 1;\n"],
  doorToApp: [
    'src/cli/zz-probe-app.ts',
    "import '../app/names.js';\nimport '../log/redact.js';\nimport '../errors.js';\nexport const x = 1;\n",
  ],
  appBelow: ['src/pipeline/zz-probe-app.ts', "import '../app/names.js';\nexport const x = 1;\n"],
} as const satisfies Record<string, readonly [string, string]>;

let out = '';
let code = 0;

beforeAll(async () => {
  for (const [file, text] of Object.values(PROBES)) fs.writeFileSync(path.join(root, file), text);
  const bin = path.join(root, 'node_modules/.bin/depcruise');
  const files = Object.values(PROBES).map(([file]) => file);
  try {
    ({ stdout: out } = await promisify(execFile)(
      bin,
      [...files, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
      {
        cwd: root,
      },
    ));
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    code = e.code;
    out = `${e.stdout}${e.stderr}`;
  }
}, 60_000);

afterAll(() => {
  for (const [file] of Object.values(PROBES)) fs.rmSync(path.join(root, file), { force: true });
});

/** What the layer rules said about one probe: the violation lines that start with a rule and name its file. */
function seen(probe: keyof typeof PROBES): string {
  const file = PROBES[probe][0];
  return out
    .split('\n')
    .filter((line) => line.includes(`: ${file}`))
    .join('\n');
}

describe('the layer rules (.dependency-cruiser.cjs)', () => {
  it('fail the run when any module breaks them', () => {
    expect(code).not.toBe(0);
  });

  it('refuse an import from a pure builder up into the pipeline, naming the rule', () => {
    expect(seen('builderUp')).toContain('layer-core-imports-up: src/remote/zz-probe-up.ts → src/pipeline/run.ts');
  });

  it('refuse a type-only import that points up as well', () => {
    expect(seen('typeUp')).toContain('layer-core-imports-up: src/journal/zz-probe-type.ts');
  });

  it('refuse a process started outside src/transport/', () => {
    expect(seen('spawnInGates')).toContain('processes-and-sockets-only-in-transport: src/gates/zz-probe-spawn.ts');
  });

  it('accept the same import inside src/transport/', () => {
    expect(seen('spawnInTransport')).toBe('');
  });
});

describe('the dashboard in the layer rules', () => {
  it('keeps its socket in src/transport/: the HTTP server package is refused in src/web/', () => {
    expect(seen('serverInWeb')).toContain('processes-and-sockets-only-in-transport: src/web/zz-probe-serve.ts');
  });

  it('refuses an npm package that starts processes outside transport too (zx), not only node builtins', () => {
    expect(seen('zxInGates')).toContain('processes-and-sockets-only-in-transport: src/gates/zz-probe-zx.ts');
  });

  it('lets nothing below the cli layer import the dashboard', () => {
    expect(seen('webBelow')).toContain('layer-commands-imports-up: src/pipeline/zz-probe-web.ts');
  });
});

describe('the two doors in the layer rules', () => {
  it('refuse a CLI verb importing the engine, naming the rule', () => {
    expect(seen('cliToEngine')).toContain('doors-import-only-app: src/cli/zz-probe-engine.ts → src/pipeline/run.ts');
  });

  it('refuse a type-only import of an engine shape in the dashboard', () => {
    expect(seen('webToEngineType')).toContain(
      'doors-import-only-app: src/web/zz-probe-type.ts → src/pipeline/context.ts',
    );
  });

  it('refuse the dashboard importing the CLI, naming the rule', () => {
    expect(seen('webToCli')).toContain('web-not-into-cli: src/web/zz-probe-cli.ts → src/cli/options.ts');
  });

  it('accept a door importing the operations, log/ and errors.ts', () => {
    expect(seen('doorToApp')).toBe('');
  });

  it('let nothing below the operations import them', () => {
    expect(seen('appBelow')).toContain('layer-commands-imports-up: src/pipeline/zz-probe-app.ts → src/app/names.ts');
  });
});
