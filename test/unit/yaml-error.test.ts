import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { excerpt } from '../../src/inventory/excerpt.js';
import { loadInventory } from '../../src/inventory/load.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-yaml-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function errorOf(text: string): Promise<{ message: string; hint?: string; exitCode?: number }> {
  fs.mkdirSync(path.join(dir, 'hosts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'hosts', 'prod.yaml'), text);
  return loadInventory(dir, 'prod').then(
    () => ({ message: 'no error' }),
    (error: { message: string; hint?: string; exitCode?: number }) => error,
  );
}

describe('YAML errors in hosts/<env>.yaml show the offending lines', () => {
  it('an indentation error: the line number, the lines around it, the line marked and its column', async () => {
    const text = [
      'pre: node1',
      'hosts:',
      '  - name: node1',
      '    address: 10.0.0.1',
      '  - name: node2',
      '    address: 10.0.0.2',
      '- name: node3',
      '    address: 10.0.0.3',
      '',
    ].join('\n');
    const error = await errorOf(text);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      [
        'hosts/prod.yaml: not valid YAML: A block sequence may not be used as an implicit map key at line 7, column 1',
        '  5 |   - name: node2',
        '  6 |     address: 10.0.0.2',
        '> 7 | - name: node3',
        '    | ^',
        '  8 |     address: 10.0.0.3',
      ].join('\n'),
    );
    expect(error.hint).toBe('fix hosts/prod.yaml at the marked line');
  });

  it('the marker stands under the column, also on the first line and with a tab in the line', async () => {
    expect((await errorOf('hosts: b: c\n')).message.split('\n').slice(1)).toEqual([
      '> 1 | hosts: b: c',
      '    |        ^',
    ]);
    const tab = await errorOf('hosts:\n\t- name: a\n');
    expect(tab.message).toContain('Tabs are not allowed as indentation at line 2, column 1');
    expect(tab.message.split('\n').slice(1)).toEqual(['  1 | hosts:', '> 2 |  - name: a', '    | ^']);
  });

  it('excerpt: numbers padded to the widest shown, clamped to the text, control characters made visible', () => {
    const text = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join('\n');
    expect(excerpt(text, 10, 3)).toBe(
      ['   8 | line 8', '   9 | line 9', '> 10 | line 10', '     |   ^', '  11 | line 11', '  12 | line 12'].join('\n'),
    );
    expect(excerpt('a\u001b[2Jb\n', 1, 2)).toBe(['> 1 | a?[2Jb', '    |  ^'].join('\n'));
    expect(excerpt('only\n', 9, 1)).toBe(['> 1 | only', '    | ^'].join('\n'));
  });
});
