import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiShapes, cliShapes, conform, poisonRecord, printJson } from '../../src/app/shapes.js';

const record = {
  id: 'p-1234abcd',
  commit: 'a'.repeat(40),
  comment: 'a bug',
  who: 'ana',
  when: '2026-11-01T00:00:00Z',
  cures: [],
};

describe('the --json shapes (src/app/shapes.ts)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('take what is sent: keys left undefined are left out of the JSON text', () => {
    expect(conform(poisonRecord, { ...record, ticket: undefined })).toEqual({ ...record, ticket: undefined });
  });

  it('throw under tests on a field more or less, naming it', () => {
    expect(() => conform(poisonRecord, { ...record, extra: 1 } as never)).toThrow(/extra/);
    const { who: _, ...missing } = record;
    expect(() => conform(poisonRecord, missing as never)).toThrow(/who/);
  });

  it('print the value as it was, pretty, after the check', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    printJson(poisonRecord, record);
    expect(out).toHaveBeenCalledWith(`${JSON.stringify(record, null, 2)}\n`);
  });

  it('name a documented CLI output for every API answer that carries one', () => {
    const commands = new Set(Object.values(cliShapes).map((s) => s.command));
    for (const a of Object.values(apiShapes)) if ('like' in a) expect(commands, a.route).toContain(a.like);
  });
});
