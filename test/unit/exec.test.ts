import { describe, expect, it } from 'vitest';
import { commandOf, execExitCode } from '../../src/app/exec.js';
import { parseDuration } from '../../src/cli/exec.js';
import { EXIT, UsageError } from '../../src/errors.js';
import { selectNodes } from '../../src/inventory/select.js';
import type { Inventory } from '../../src/inventory/types.js';
import { LineSplitter } from '../../src/log/lines.js';
import { execIn, execLine } from '../../src/remote/exec.js';
import { render } from '../../src/remote/tokens.js';

describe('the command line of deploy exec', () => {
  it('is one argument as the user wrote it: the shell on the node reads its pipes and variables', () => {
    expect(execLine(['ls shared | wc -l && echo "$HOME"'])).toBe('ls shared | wc -l && echo "$HOME"');
  });

  it('is several arguments each quoted: none is split, expanded or read as an operator', () => {
    expect(execLine(['uname', '-a'])).toBe('uname -a');
    expect(execLine(['ls', '-la', 'my dir'])).toBe("ls -la 'my dir'");
    const hostile = ['echo', '$(rm -rf /)', "it's", ';', '|', '`id`', '&&', '>x'];
    expect(execLine(hostile)).toBe(`echo '$(rm -rf /)' 'it'\\''s' ';' '|' '\`id\`' '&&' '>x'`);
  });

  it('runs in its dir with what it runs for in its environment, the line one quoted value of sh -c', () => {
    const env = { RELINK_ENV: 'prod', RELINK_NODE: 'node1' };
    expect(render(execIn('/srv/app', "echo 'a b' | wc -c", env))).toBe(
      `cd /srv/app && exec env RELINK_ENV=prod RELINK_NODE=node1 sh -c 'echo '\\''a b'\\'' | wc -c'`,
    );
  });

  it('is bad input (exit 2) when there is none, or only blanks', () => {
    for (const words of [[], [''], ['  ']]) {
      expect(() => commandOf(words)).toThrow(UsageError);
      expect(() => commandOf(words)).toThrow(/give it after --/);
    }
  });
});

describe('lines of streamed output', () => {
  const split = (chunks: string[]) => {
    const lines: string[] = [];
    const s = new LineSplitter((line) => lines.push(line));
    for (const c of chunks) s.push(c);
    s.end();
    return lines;
  };

  it('are whole lines however the chunks fall, the last one without its newline too', () => {
    expect(split(['Linux no', 'de1 6.1', '\nsecond\n\nthi', 'rd'])).toEqual(['Linux node1 6.1', 'second', '', 'third']);
    expect(split(['a\r\nb\r', '\n'])).toEqual(['a', 'b']);
    expect(split(['', 'x\n'])).toEqual(['x']);
    expect(split([])).toEqual([]);
  });
});

describe('which nodes deploy exec chooses', () => {
  const host = (name: string, roles: string[] = []) => ({
    name,
    address: '10.0.0.1',
    port: 22,
    user: 'deploy',
    roles,
    vars: {},
  });
  const inventory = {
    pre: 'web1',
    groupSize: 2,
    hosts: [host('web1', ['app']), host('web2', ['app']), host('web3', ['app', 'cron']), host('db1', ['db'])],
  } as unknown as Inventory;
  const names = (s: Parameters<typeof selectNodes>[1]) => selectNodes(inventory, s).map((n) => n.name);

  it('every node, or the named ones, by role, by rollout group (the pre node is group 1), all together', () => {
    expect(names({})).toEqual(['web1', 'web2', 'web3', 'db1']);
    expect(names({ nodes: ['db1', 'web2'] })).toEqual(['web2', 'db1']);
    expect(names({ roles: ['cron', 'db'] })).toEqual(['web3', 'db1']);
    expect(names({ groups: [1] })).toEqual(['web1']);
    expect(names({ groups: [2] })).toEqual(['web2', 'web3']);
    expect(names({ groups: [3] })).toEqual(['db1']);
    expect(names({ roles: ['app'], groups: [2, 3] })).toEqual(['web2', 'web3']);
    expect(names({ nodes: ['web3'], roles: ['app'] })).toEqual(['web3']);
  });

  it('refuses an unknown node, role or group, or a choice no node matches, listing what there is (exit 2)', () => {
    const refusal = (s: Parameters<typeof selectNodes>[1]) => {
      try {
        selectNodes(inventory, s);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return `${(error as UsageError).message} / ${(error as UsageError).hint}`;
      }
      throw new Error('not refused');
    };
    expect(refusal({ nodes: ['web9'] })).toMatch(/unknown node: web9 \/ nodes of this environment: web1, web2/);
    expect(refusal({ roles: ['cache'] })).toBe('unknown role: cache / roles of this environment: app, cron, db');
    expect(refusal({ groups: [4, 0] })).toBe(
      'no groups 4, 0 / the groups of this environment, pre node first: 1: web1; 2: web2, web3; 3: db1',
    );
    expect(refusal({ roles: ['db'], groups: [1] })).toMatch(/^no node matches all of --node, --role and --group/);
  });
});

describe('the exit code of deploy exec', () => {
  it('is 0 only when every node exited 0, 130 when interrupted, else 1', () => {
    expect(execExitCode({ ok: true, interrupted: false })).toBe(EXIT.ok);
    expect(execExitCode({ ok: false, interrupted: false })).toBe(EXIT.failed);
    expect(execExitCode({ ok: false, interrupted: true })).toBe(EXIT.interrupted);
  });
});

describe('--timeout', () => {
  it('takes seconds or a duration with its unit, from 1s to 24h', () => {
    expect(parseDuration('--timeout', '90')).toBe(90_000);
    expect(parseDuration('--timeout', '90s')).toBe(90_000);
    expect(parseDuration('--timeout', '5m')).toBe(300_000);
    expect(parseDuration('--timeout', '1h')).toBe(3_600_000);
    expect(parseDuration('--timeout', '1500ms')).toBe(1500);
    for (const bad of ['0', '500ms', '25h', '1.5m', '-3', '5 m', 'soon', '']) {
      expect(() => parseDuration('--timeout', bad), bad).toThrow(UsageError);
    }
  });
});
