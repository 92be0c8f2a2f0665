import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandLine, hintOf, phrase } from '../../src/app/phrase.js';
import { apiError } from '../../src/app/shapes.js';
import { GateError, LockError } from '../../src/errors.js';
import { gate, type Finding } from '../../src/gates/poison.js';
import { windowGate } from '../../src/gates/window.js';
import { type Flags, nextStep, type Said, said, stepsIn, VERBS } from '../../src/next.js';
import { errorJson } from '../../src/web/http.js';

const env = 'prod';
const last: Flags = { last: true };
const toV: Flags = { to: 'v1.0.0' };

describe('a next step, phrased as the command line the CLI has always printed', () => {
  it('renders every verb', () => {
    const lines = VERBS.map((verb) => commandLine(nextStep(verb, verb === 'again' ? undefined : env)));
    expect(lines).toEqual([
      '',
      'deploy prod',
      'rollback prod',
      'deploy status prod',
      'deploy logs prod',
      'deploy history prod',
      'deploy releases prod',
      'deploy lock status prod',
      'deploy unlock prod',
      'deploy doctor prod',
      'deploy report prod',
      'deploy check prod',
      'deploy poison list prod',
      'deploy request prod',
      'deploy approve prod',
      'deploy analyze prod',
    ]);
  });

  // Each hint of the engine, as it builds it, and the text it printed before its steps were data.
  const table: [string, Said, string][] = [
    [
      'run.ts: --retry-failed with --node',
      said`leave out --node: ${nextStep('deploy', env, { 'retry-failed': true }, ['v1.1.0'])}`,
      'leave out --node: deploy prod v1.1.0 --retry-failed',
    ],
    [
      'run.ts: the report, after a deploy',
      said`${nextStep('rollback', env, last)}${'    # back to v1.0.0'}`,
      'rollback prod --last    # back to v1.0.0',
    ],
    [
      'run.ts: the report, after a halt',
      ['# nothing to undo: ', ...said`${nextStep('rollback', env, last)} after inspection`],
      '# nothing to undo: rollback prod --last after inspection',
    ],
    [
      'rollback.ts: frozen, --last',
      said`prod is frozen. To roll back anyway (the freeze stays): ${nextStep('rollback', env, { ...last, emergency: true, force: true })}`,
      'prod is frozen. To roll back anyway (the freeze stays): rollback prod --last --emergency --force',
    ],
    [
      'rollback.ts: frozen, --to, already --emergency',
      [nextStep('rollback', env, { ...toV, force: true })],
      'rollback prod --to v1.0.0 --force',
    ],
    [
      'rollback.ts: held',
      said`wait for that run to finish; to roll back anyway: ${nextStep('rollback', env, { ...toV, force: true })} (takes the lock over, journaled)`,
      'wait for that run to finish; to roll back anyway: rollback prod --to v1.0.0 --force (takes the lock over, journaled)',
    ],
    [
      'rollback.ts: without the load balancer',
      said`the load balancer is needed to drain nodes; without it: ${nextStep('rollback', env, { ...last, emergency: true })} (may drop requests)`,
      'the load balancer is needed to drain nodes; without it: rollback prod --last --emergency (may drop requests)',
    ],
    [
      'rollback.ts: frozen after',
      said`deploys are refused until: ${nextStep('unlock', env)}`,
      'deploys are refused until: deploy unlock prod',
    ],
    [
      'rollback.ts: stopped',
      said`look at node2 (${nextStep('logs', env, { node: 'node2' })}), then ${nextStep('rollback', env, { to: '<version>' })} or --emergency`,
      'look at node2 (deploy logs prod --node node2), then rollback prod --to <version> or --emergency',
    ],
    [
      'rollback.ts: the report',
      said`${nextStep('rollback', env, toV)}    # back to where this rollback started`,
      'rollback prod --to v1.0.0    # back to where this rollback started',
    ],
    [
      'rollback.ts: no such release',
      said`see which releases each node has: ${nextStep('releases', env)}`,
      'see which releases each node has: deploy releases prod',
    ],
    [
      'rollback.ts: refused',
      said`pick a release every node has (${nextStep('rollback', env, { to: '<version>' })}), or roll back only the nodes that can: add ${nextStep('again', undefined, { force: true })}`,
      'pick a release every node has (rollback prod --to <version>), or roll back only the nodes that can: add --force',
    ],
    [
      'revert.ts: interrupted',
      said`interrupted: to resume, ${nextStep('deploy', env, undefined, ['v1.1.0'])} again`,
      'interrupted: to resume, deploy prod v1.1.0 again',
    ],
    ['revert.ts: halted', said`when done: ${nextStep('rollback', env, last)}`, 'when done: rollback prod --last'],
    [
      'revert.ts, rollback.ts: not clean',
      said`check those nodes now: ${nextStep('status', env)}`,
      'check those nodes now: deploy status prod',
    ],
    [
      'activate.ts: the app log',
      said`see the app log on node2: ${nextStep('logs', env, { node: 'node2' })}`,
      'see the app log on node2: deploy logs prod --node node2',
    ],
    [
      'budget.ts: set aside',
      [nextStep('deploy', env, { 'retry-failed': true }, ['v1.1.0'])],
      'deploy prod v1.1.0 --retry-failed',
    ],
    [
      'retry.ts: nothing to retry',
      said`${nextStep('deploy', env, undefined, ['v1.1.0'])} releases it to every node; ${nextStep('history', env)} shows the runs`,
      'deploy prod v1.1.0 releases it to every node; deploy history prod shows the runs',
    ],
    ['retry.ts: all back', [nextStep('status', env)], 'deploy status prod'],
    [
      'locks.ts: lost',
      said`check node2 (${nextStep('doctor', env)}), then run the command again`,
      'check node2 (deploy doctor prod), then run the command again',
    ],
    [
      'locks.ts: frozen',
      said`prod is frozen. When the freeze is over: ${nextStep('unlock', env)}. In an emergency: ${nextStep('rollback', env, { last: true, emergency: true, force: true })}`,
      'prod is frozen. When the freeze is over: deploy unlock prod. In an emergency: rollback prod --last --emergency --force',
    ],
    [
      'locks.ts: held',
      said`wait for that run to finish. If it is dead: ${nextStep('unlock', env, { force: true })}`,
      'wait for that run to finish. If it is dead: deploy unlock prod --force',
    ],
    [
      'lock-guard.ts: taken',
      said`that run has prod now: follow it (${nextStep('lock-status', env)}); when it is done, check ${nextStep('status', env)}`,
      'that run has prod now: follow it (deploy lock status prod); when it is done, check deploy status prod',
    ],
    [
      'relay.ts: host key',
      said`add node2's (${nextStep('doctor')} names the command)`,
      "add node2's (deploy doctor names the command)",
    ],
    [
      'locked-run.ts: the report',
      said`report: /x/r.md (${nextStep('report', undefined, undefined, ['r-1'])})`,
      'report: /x/r.md (deploy report r-1)',
    ],
    [
      'app/freeze.ts: a freeze',
      said`to lift that freeze: ${nextStep('unlock', env, { run: 'r-1' })}`,
      'to lift that freeze: deploy unlock prod --run r-1',
    ],
    [
      'app/compose.ts: twice',
      said`a lock may remain: ${nextStep('unlock', undefined, { force: true })}`,
      'a lock may remain: deploy unlock --force',
    ],
    ['app/poison.ts: no record', said`${nextStep('poison-list')} shows them all`, 'deploy poison list shows them all'],
  ];

  it.each(table)('%s', (_, what, text) => {
    expect(phrase(what)).toBe(text);
  });

  it('leaves plain text as it is, and nests what was said', () => {
    expect(phrase('fix the cause and deploy again')).toBe('fix the cause and deploy again');
    const inner = said`a lock may remain: ${nextStep('unlock', undefined, { force: true })}`;
    expect(phrase(said`(${inner})`)).toBe('(a lock may remain: deploy unlock --force)');
  });
});

describe('the gates say their next steps as data', () => {
  const finding = (id: string) =>
    ({
      record: { id, commit: 'c', comment: 'bug', who: 'ana', when: '', cures: [] },
      cured: false,
    }) as unknown as Finding;

  it('the release gate: deploy check, and the flags that allow each record', () => {
    const error = (() => {
      try {
        gate('v1.1.0', [finding('p-1'), finding('p-2')], [], undefined);
      } catch (e) {
        return e as GateError;
      }
    })();
    expect(error).toBeInstanceOf(GateError);
    expect(hintOf(error!)).toBe(
      'release a version with the fix (deploy check <rev> shows what is missing), or, deliberately: ' +
        '--allow-poison p-1 --allow-poison p-2 --reason "..."',
    );
    expect(stepsIn(error!.hint).map((s) => s.verb)).toEqual(['check', 'again']);
  });

  it('the window gate: the same deploy with --emergency --reason', () => {
    const retry = nextStep('deploy', env, undefined, ['v1.1.1']);
    const error = (() => {
      try {
        windowGate(env, ['Tue 17:00-19:00'], 'UTC', new Date('2026-11-21T12:00:00Z'), { on: false }, retry);
      } catch (e) {
        return e as GateError;
      }
    })();
    expect(hintOf(error!)).toBe(
      'wait for the window, or, for an emergency: deploy prod v1.1.1 --emergency --reason "..."',
    );
  });
});

describe("the dashboard's error answer", () => {
  it('carries the hint as text and its commands as data, in the shared shape', () => {
    const hint = said`wait for that run to finish. If it is dead: ${nextStep('unlock', env, { force: true })}`;
    const answer = errorJson(new LockError('deploy lock on prod is held (node2) by ana', { hint }));
    expect(answer.hint).toBe('wait for that run to finish. If it is dead: deploy unlock prod --force');
    expect(answer.next).toEqual([{ verb: 'unlock', env: 'prod', flags: { force: true } }]);
    expect(apiError.safeParse(answer).success).toBe(true);
    expect(errorJson(new LockError('held', { hint: 'wait' }))).not.toHaveProperty('next');
  });
});

// The engine: the pipeline and what it drives. A command line there is a next step spelled as text; say it as
// data (src/next.ts) and let the door phrase it (src/app/phrase.ts). (config/'s descriptions are the reference.)
const src = path.resolve(import.meta.dirname, '../../src');
const ENGINE = ['pipeline', 'gates', 'journal', 'remote', 'lb', 'transport', 'notify', 'inventory'];
const VERB_WORDS = 'status|unlock|lock status|logs|history|releases|plan|report|poison|cure|check|impact|doctor|stats';
/** `deploy ${env}`, `rollback ${env}`, `deploy status ...`: inside a string, outside a comment. */
const SPELLED = new RegExp(`['"\`].*\\b(deploy|rollback) (\\$\\{|(${VERB_WORDS})\\b)`);
/** Source text with `#{` for `${` (a test's strings hold no placeholders). */
const code = (text: string) => text.replaceAll('#{', `${'$'}{`);
/** The run's own command line, as the journal and its report name it: a label, not a next step. */
const LABELS = [
  'pipeline/run.ts: const line = `deploy #{env} #{asked}',
  'pipeline/run.ts: command: `deploy #{env} #{asked}`,',
  'pipeline/run.ts: const started = `#{req.user} started deploy #{env} #{what}',
  'pipeline/rollback.ts: const line = `rollback #{env} #{spec}',
  "pipeline/rollback.ts: reporter.emit({ type: 'info', message: `rollback #{spec} on #{env}",
  'journal/history.ts: return `rollback #{e.env} #{spec}',
].map(code);

describe('the house rule: the engine spells no command line', () => {
  it('finds none in the engine, but the labels a run journals of itself', () => {
    const spelled = ENGINE.flatMap((dir) =>
      (fs.readdirSync(path.join(src, dir), { recursive: true }) as string[])
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => {
          const rel = `${dir}/${f}`;
          return fs
            .readFileSync(path.join(src, rel), 'utf8')
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => !/^(\/\/|\*|\/\*)/.test(line) && SPELLED.test(line))
            .map((line) => `${rel}: ${line}`)
            .filter((hit) => !LABELS.some((label) => hit.startsWith(label)));
        }),
    );
    expect(spelled).toEqual([]);
  });

  it('catches a next step spelled as text', () => {
    expect(SPELLED.test(code('hint: `check those nodes now: deploy status #{env}`,'))).toBe(true);
    expect(SPELLED.test(code('const emergency = `rollback #{env} --last --emergency --force`;'))).toBe(true);
    expect(SPELLED.test(code("hint: 'deploy poison list shows them all'"))).toBe(true);
    expect(SPELLED.test(code('message: `could not release the deploy lock (#{why})`'))).toBe(false);
    expect(SPELLED.test(code('// a comment may say: deploy unlock #{env}'))).toBe(false);
  });
});
