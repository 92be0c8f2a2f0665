import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { worthCompressing } from '../../src/pipeline/distribution/compress.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-compress-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function file(name: string, content: Buffer | string): { path: string; size: number } {
  fs.writeFileSync(path.join(root, name), content);
  return { path: name, size: fs.statSync(path.join(root, name)).size };
}

const text = (bytes: number) => Buffer.from('export const line = "some code, and a map";\n'.repeat(bytes / 44 + 1));

describe('worthCompressing: gzip a delta only when it saves', () => {
  it('random bytes (an image, an archive): not worth it', () => {
    expect(worthCompressing(root, [file('video.bin', crypto.randomBytes(4 << 20))])).toBe(false);
  });

  it('code: worth it', () => {
    expect(worthCompressing(root, [file('bundle.js', text(4 << 20))])).toBe(true);
  });

  it('a small delta is compressed whatever it holds', () => {
    expect(worthCompressing(root, [file('small.bin', crypto.randomBytes(200_000))])).toBe(true);
  });

  it('the largest files decide by their size; many small files not sampled count as text', () => {
    const big = file('big.bin', crypto.randomBytes(3 << 20));
    const small = Array.from({ length: 20 }, (_, i) => file(`s${i}.js`, text(8_000)));
    // 3 MiB of noise beside 160 kB of text: not worth it.
    expect(worthCompressing(root, [big, ...small])).toBe(false);
    // Beside 8 MB of code in 40 files (16 sampled, the rest taken for text): worth it.
    const code = Array.from({ length: 40 }, (_, i) => file(`c${i}.js`, text(200_000)));
    expect(worthCompressing(root, [big, ...code])).toBe(true);
  });

  it('a file that cannot be read counts as saving nothing, and does not throw', () => {
    expect(worthCompressing(root, [{ path: 'gone.bin', size: 5 << 20 }])).toBe(false);
  });
});
