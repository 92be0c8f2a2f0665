import { describe, expect, it } from 'vitest';
import { EXIT, EXIT_MEANING } from '../../src/errors.js';
import { exitCodesHelp } from '../../src/cli/options.js';
import { displayWidth, pad, printable, table } from '../../src/log/listing.js';
import { Redactor } from '../../src/log/redact.js';
import { renderReport } from '../../src/pipeline/lifecycle/report.js';

describe('printable: a value from a user or a node on one line of a listing', () => {
  it.each([
    ['ana\nroot', 'ana\\nroot'],
    ['a\r\nb', 'a\\r\\nb'],
    ['tab\there', 'tab\\there'],
    ['\x1b[2J\x1b[31mred', '\\x1b[2J\\x1b[31mred'],
    ['bell\x07 nul\x00 del\x7f c1\x9b', 'bell\\x07 nul\\x00 del\\x7f c1\\x9b'],
    ['evil\u202etxt.exe', 'evil\\u{202e}txt.exe'],
    ['line\u2028sep', 'line\\u{2028}sep'],
    ['José 山田 ✓ $(rm -rf /) `x` \'q\' "d" \\', 'José 山田 ✓ $(rm -rf /) `x` \'q\' "d" \\'],
    ['', ''],
  ])('%j -> %j', (value, shown) => {
    expect(printable(value)).toBe(shown);
    expect(printable(value)).not.toMatch(/\p{Cc}/u);
  });

  it('keeps tabs when asked (log lines), shows nothing for no value, and numbers as they are', () => {
    expect(printable('a\tb\nc', { tabs: true })).toBe('a\tb\\nc');
    expect(printable(undefined)).toBe('');
    expect(printable(null)).toBe('');
    expect(printable(42)).toBe('42');
  });
});

describe('displayWidth and pad', () => {
  it('counts terminal columns: wide letters and emoji take two, combining marks none', () => {
    expect(displayWidth('ana')).toBe(3);
    expect(displayWidth('山田')).toBe(4);
    expect(displayWidth('🚀ok')).toBe(4);
    expect(displayWidth('e\u0301')).toBe(1);
  });

  it('pads to a width and never cuts', () => {
    expect(pad('ab', 4)).toBe('ab  ');
    expect(pad('ab', 4, 'right')).toBe('  ab');
    expect(pad('山', 4)).toBe('山  ');
    expect(pad('a long value', 4)).toBe('a long value');
  });
});

describe('table', () => {
  it('makes every column as wide as its widest cell: a 30-character author is printed whole', () => {
    const author = 'Maximiliane Oberdorfer-Wallace';
    expect(author).toHaveLength(30);
    const lines = table([
      ['who', 'result'],
      [author, 'success'],
      ['ana', 'failed'],
    ]);
    expect(lines).toEqual([
      'who                             result',
      `${author}  success`,
      'ana                             failed',
    ]);
  });

  it('escapes every cell, so a newline in a value does not split its row', () => {
    const lines = table([
      ['ana\nroot', 'deploy prod v1'],
      ['bo', 'x'],
    ]);
    expect(lines).toEqual(['ana\\nroot  deploy prod v1', 'bo         x']);
    expect(lines.join('\n').split('\n')).toHaveLength(2);
  });

  it('aligns right where asked, indents, and leaves no trailing spaces', () => {
    const lines = table(
      [
        ['a', '1.0s', ''],
        ['bbb', '12.5s', 'note'],
      ],
      { align: ['left', 'right'], indent: '  ' },
    );
    expect(lines).toEqual(['  a     1.0s', '  bbb  12.5s  note']);
  });

  it('lets the last cell of a shorter row run on without widening its column', () => {
    const lines = table([
      ['node1', 'v1.0.0', 'healthy'],
      ['node2', 'UNREACHABLE: connect ECONNREFUSED 127.0.0.1:2302'],
    ]);
    expect(lines).toEqual(['node1  v1.0.0  healthy', 'node2  UNREACHABLE: connect ECONNREFUSED 127.0.0.1:2302']);
  });

  it('lines up wide letters by columns, not characters', () => {
    expect(
      table([
        ['山田', 'x'],
        ['ana', 'y'],
      ]),
    ).toEqual(['山田  x', 'ana   y']);
  });
});

describe('a secret in an escaped listing or a Markdown cell is still redacted', () => {
  it('matches the escaped forms of a secret with a newline, a quote and a pipe', () => {
    const secret = 'pa"ss\nw|rd-42';
    const redactor = new Redactor();
    redactor.add(secret);
    const report = renderReport({
      runId: 'r1',
      command: 'deploy prod v1',
      env: 'prod',
      user: 'ana',
      started: new Date(0),
      finished: new Date(1000),
      result: 'failed',
      steps: [{ node: 'node1', step: 'rollout:restart', status: 'failed', ms: 5, detail: `printed ${secret}` }],
      rollbackCommand: '# nothing to undo',
    });
    expect(report).toContain('printed pa"ss\\nw\\|rd-42');
    const redacted = redactor.apply(report);
    expect(redacted).toContain('| printed [REDACTED] |');
    for (const piece of ['pa"ss', 'w|rd', 'rd-42']) expect(redacted).not.toContain(piece);
    expect(redactor.apply(`x ${printable(secret)} y`)).toBe('x [REDACTED] y');
  });
});

describe('the Markdown report', () => {
  const base = {
    runId: 'r1',
    command: 'rollback prod --last --emergency',
    env: 'prod',
    user: 'ana\nroot',
    started: new Date(0),
    finished: new Date(1000),
    result: 'success',
    steps: [],
    rollbackCommand: 'rollback prod --to v1',
  };

  it('shows the reason of an emergency, or that none was given; a newline in a value keeps its row', () => {
    expect(renderReport({ ...base, emergency: { reason: 'checkout down\nsee INC-7' } })).toContain(
      '| emergency | yes: checkout down\\nsee INC-7 |',
    );
    const without = renderReport({ ...base, emergency: {} });
    expect(without).toContain('| emergency | yes (no --reason given) |');
    expect(without).not.toMatch(/yes: {1,2}\|/);
    expect(without).toContain('| who | ana\\nroot |');
  });
});

describe('the exit codes in --help', () => {
  it('lists every code of EXIT with its meaning, wrapped to the width', () => {
    const help = exitCodesHelp(80);
    const flat = help.replace(/\n {7}/g, ' ');
    for (const [name, code] of Object.entries(EXIT)) {
      const meaning = EXIT_MEANING[name as keyof typeof EXIT].replaceAll('`', '');
      expect(flat).toContain(`  ${String(code).padEnd(5)}${meaning}`);
    }
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });
});
