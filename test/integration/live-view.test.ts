import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { distDir, Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';
import { Screen } from '../helpers/screen.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const bin = path.join(distDir, 'bin', 'deploy.js');

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

/**
 * Runs the CLI on a pseudo-terminal of 120x50, as a person at a terminal
 * would (util-linux script(1); CI unset). `screen()` is what the terminal
 * shows at that moment, the cursor moves and erasures applied.
 */
function onTerminal(project: Project, args: string[]) {
  const { CI: _ci, ...env } = process.env;
  const command = `stty cols 120 rows 50; exec node ${bin} ${args.join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: project.dir,
    env: { ...env, APP_SECRET: 'it-secret-value' },
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const screen = () => new Screen().write(Buffer.concat(chunks).toString('utf8'));
  /** Waits until a line on the screen matches; returns its match. */
  const waitFor = async (pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const line of screen().lines()) {
        const m = line.match(pattern);
        if (m) return m;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never on screen: ${pattern}\n${screen().lines().join('\n')}`);
  };
  return { screen, waitFor, code: code.finally(() => child.stdin.end()) };
}

/** `750ms` or `2.3s` in milliseconds. */
const millis = (text: string) => (text.endsWith('ms') ? Number(text.slice(0, -2)) : Number(text.slice(0, -1)) * 1000);

/** Every finished step line stands under the header of its own phase (`== rollout` over `rollout:*`). */
function expectStepsUnderTheirPhase(lines: readonly string[]): void {
  let header: string | undefined;
  for (const line of lines) {
    header = /^== ([^\s:]+)/.exec(line)?.[1] ?? header;
    const step = /^\S+ +([a-z]+):[a-z]+ +(ok|FAIL|skip) /.exec(line);
    if (step) expect(`${step[1]} under == ${header}`, line).toBe(`${step[1]} under == ${step[1]}`);
  }
}

const slowRestart = (repo: string) => {
  const file = path.join(repo, 'bin', 'restart.sh');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('set -eu\n', 'set -eu\nsleep 3\n'));
};

describe('the live view on a terminal', () => {
  let project: Project;

  beforeAll(async () => {
    stopApps(sb);
    project = new Project(sb);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.3.0', slowRestart, 'slow restart');
  });
  afterAll(() => {
    stopApps(sb);
    project.remove();
  });

  it("ticks a 3 s restart's elapsed time; at the end every step is in the scrollback, the summary last", async () => {
    const run = onTerminal(project, ['prod', 'v1.3.0']);
    const running = /^ +node1 +rollout:restart +… +(\d+(?:\.\d)?m?s)\b/;
    const first = millis((await run.waitFor(running))[1]!);
    await new Promise((r) => setTimeout(r, 1000));
    const second = millis((await run.waitFor(running, 1000))[1]!);
    // Two reads of the screen a second apart, in the same restart: the time moved on by about that second.
    expect(second - first).toBeGreaterThanOrEqual(600);
    expect(second).toBeLessThan(3500);
    expect(run.screen().lines()).toContainEqual(expect.stringMatching(/^ +rollout: 0\/4 nodes done, \d/));

    expect(await run.code).toBe(0);
    const lines = run.screen().lines();
    for (const node of NODES) {
      for (const step of ['plan:connect', 'distribute:upload', 'rollout:relink', 'rollout:restart', 'rollout:smoke'])
        expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${node} +${step} +ok +\\d`)));
    }
    expect(lines.at(-2)).toMatch(/^deployed v1\.3\.0 to 4 node\(s\) of prod in /);
    expect(lines.at(-1)).toMatch(/^report: .*\.relink\/reports\/.*\.md \(deploy report /);
    // The live block is gone: no running step, no progress line.
    expect(lines.filter((l) => /^ +\S+ +[a-z]+:[a-z]+ +… |nodes done/.test(l))).toEqual([]);
    const headers = lines.filter((l) => l.startsWith('== ')).map((l) => l.split(/[\s:]/)[1]);
    expect(headers).toEqual(['plan', 'gates', 'build', 'distribute', 'rollout', 'finish']);
    expectStepsUnderTheirPhase(lines);
  });

  it('under a freeze: the lock step is FAIL under == gates, and the refusal is last on the screen', async () => {
    expect((await project.deploy(['lock', 'prod', '-m', 'change freeze'])).code).toBe(0);
    try {
      const run = onTerminal(project, ['prod', 'v1.0.0']);
      expect(await run.code).toBe(4);
      const lines = run.screen().lines();
      expect(lines).toContainEqual(
        expect.stringMatching(/^- +gates:lock +FAIL +\d+m?s {2}deploy lock on prod is held/),
      );
      expect(lines.some((l) => /gates:lock +ok/.test(l))).toBe(false);
      expectStepsUnderTheirPhase(lines);
      expect(lines.at(-2)).toMatch(/^error: deploy lock on prod is held \(node1\) by a freeze .*change freeze$/);
      expect(lines.at(-1)).toMatch(/^next: prod is frozen\. When the freeze is over: deploy unlock prod/);
    } finally {
      expect((await project.deploy(['unlock', 'prod'])).code).toBe(0);
    }
  });
});

describe('upload progress on a terminal (node3 behind a 16 Mbit/s link)', () => {
  let project: Project | undefined;
  const node3 = () => sb.nodes.find((n) => n.name === 'node3')!;
  /** A rate limit on both ends of node3's veth pair. */
  const qdisc = (verb: 'replace' | 'del', ...args: string[]) => {
    const { netns, veth } = node3();
    const peer = veth!.replace(/^rlh/, 'rln');
    execFileSync('tc', ['qdisc', verb, 'dev', veth!, 'root', ...args], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'exec', netns!, 'tc', 'qdisc', verb, 'dev', peer, 'root', ...args], { stdio: 'pipe' });
  };
  afterEach(() => {
    qdisc('del');
    stopApps(sb);
    project?.remove();
  });

  it.each(['tar', 'rsync'])('upload: %s shows the bytes sent and the percent done, rising', async (upload) => {
    project = new Project(sb, { configExtra: `rollout: { upload: '${upload}' },` });
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    const payload = crypto.randomBytes(8 * 1024 * 1024);
    project.tag('v1.4.0', (repo) => fs.writeFileSync(path.join(repo, 'payload.bin'), payload), 'payload');
    qdisc('replace', 'tbf', 'rate', '16mbit', 'burst', '32kb', 'latency', '60s');
    const run = onTerminal(project, ['prod', 'v1.4.0']);
    const uploading = /^ +node3 +distribute:upload +… +\S+ {2}(\d+(?:\.\d)?) (MB|kB) (\d+)%$/;
    const first = await run.waitFor(uploading);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await run.waitFor(uploading, 1000);
    const bytes = (m: RegExpMatchArray) => Number(m[1]) * (m[2] === 'MB' ? 1e6 : 1e3);
    expect(bytes(second)).toBeGreaterThan(bytes(first));
    expect(Number(second[3])).toBeGreaterThan(Number(first[3]));
    expect(Number(second[3])).toBeLessThan(100);
    expect(await run.code).toBe(0);
    expect(run.screen().lines()).toContainEqual(expect.stringMatching(/^node3 +distribute:upload +ok +\d/));
    expect(run.screen().lastLine()).toMatch(/^report: /);
  });
});
