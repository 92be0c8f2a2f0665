import { describe, expect, it } from 'vitest';
import { validateUserConfig } from '../../src/config/validate.js';
import { drift } from '../../src/journal/view.js';
import { colourOn, printableLog } from '../../src/log/listing.js';

describe("deploy logs --color: the app's colours, and nothing else a node sends", () => {
  const red = '\x1b[31mERROR\x1b[0m db down\t(retrying)';

  it('without colour: the SGR sequences are gone, no escape code is left, a tab stays a tab', () => {
    expect(printableLog(red, false)).toBe('ERROR db down\t(retrying)');
    expect(printableLog('\x1b[1;38;5;208mbold orange\x1b[m', false)).toBe('bold orange');
  });

  it('with colour: the SGR sequences pass as they are, and a reset ends the line', () => {
    expect(printableLog(red, true)).toBe('\x1b[31mERROR\x1b[0m db down\t(retrying)\x1b[0m');
    expect(printableLog('plain', true)).toBe('plain');
  });

  it('every other control sequence is shown escaped, with colour or without: no cursor moves, no clear screen', () => {
    for (const colour of [true, false]) {
      const shown = printableLog('\x1b[2J\x1b[Hwiped\x1b]0;title\x07\x9b31m\r', colour);
      expect(shown).toBe('\\x1b[2J\\x1b[Hwiped\\x1b]0;title\\x07\\x9b31m\\r');
      expect(shown).not.toMatch(/\p{Cc}/u);
    }
    // A colour sequence cannot smuggle another one in.
    expect(printableLog('\x1b[31;\x1b[2Jm', true)).toBe('\\x1b[31;\\x1b[2Jm');
  });

  it('auto: colour on a terminal unless NO_COLOR is set; always and never as they say', () => {
    const before = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      expect([colourOn('auto', true), colourOn('auto', false), colourOn('auto', undefined)]).toEqual([
        true,
        false,
        false,
      ]);
      expect([colourOn('always', false), colourOn('never', true)]).toEqual([true, false]);
      process.env.NO_COLOR = '1';
      expect(colourOn('auto', true)).toBe(false);
    } finally {
      if (before === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = before;
    }
  });
});

describe('status drift: nodes running different code', () => {
  const c1 = 'c1'.repeat(20);
  it('nodes on releases of different names built from one commit are not drift', () => {
    const groups = drift([
      { node: 'n1', current: 'app_prod_v1_main_20261120-090000_bo', commit: c1 },
      { node: 'n2', current: 'app_prod_v1_main_20261120-090000_bo', commit: c1 },
      { node: 'n3', current: 'app_prod_v1_main_20261121-170000_ana', commit: c1 },
    ]);
    expect([...groups]).toEqual([
      ['app_prod_v1_main_20261120-090000_bo + app_prod_v1_main_20261121-170000_ana', ['n1', 'n2', 'n3']],
    ]);
  });

  it('another commit, or nothing deployed, is; a node whose journal lost the release joins who runs it', () => {
    const d2 = 'd2'.repeat(20);
    const groups = drift([
      { node: 'n1', current: 'r1', commit: c1 },
      { node: 'n2', current: 'r2', commit: d2 },
      { node: 'n3', current: 'r1' },
      { node: 'n4' },
    ]);
    expect([...groups]).toEqual([
      ['r1', ['n1', 'n3']],
      ['r2', ['n2']],
      ['(none)', ['n4']],
    ]);
  });
});

describe('smoke: what init writes is the default', () => {
  it('a smoke with only a URL expects no body: the status alone decides', () => {
    const base = { project: 'p', repo: '.', deployTo: '/srv/p' };
    const config = validateUserConfig({ ...base, smoke: { url: 'http://{{ node.address }}/health' } }, 'x.ts');
    expect(config.smoke?.expectBody).toBeUndefined();
    expect(() => validateUserConfig({ ...base, smoke: { url: 'http://x', expectBody: '' } }, 'x.ts')).toThrow(
      /expectBody/,
    );
  });
});
