import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');
const files = (fs.readdirSync(src, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(src, f));

describe('the house rules for src/', () => {
  it('no source file over 250 lines (split it by idea)', () => {
    const long = files.filter((f) => fs.readFileSync(f, 'utf8').split('\n').length > 251);
    expect(long.map((f) => path.relative(src, f))).toEqual([]);
  });

  it('no line over 120 characters (the formatter cannot break strings: name the parts)', () => {
    const wide = files.flatMap((f) =>
      fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (line.length > 120 ? [`${path.relative(src, f)}:${i + 1}`] : [])),
    );
    expect(wide).toEqual([]);
  });
});
