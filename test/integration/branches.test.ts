import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliJson } from '../helpers/json.js';
import { onNode, Project, readSandbox, servedThroughLb, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];

const git = (...args: string[]) => execFileSync('git', ['-C', project.appRepo, ...args], { encoding: 'utf8' }).trim();

/** A branch off main with one file under features/ (the app's answer lists them). */
function branch(name: string, file: string, content = `${name}\n`): void {
  git('checkout', '-q', '-b', name, 'main');
  fs.mkdirSync(path.join(project.appRepo, 'features'), { recursive: true });
  fs.writeFileSync(path.join(project.appRepo, 'features', file), content);
  git('add', '-A');
  git('commit', '-q', '-m', `${name}: ${file}`);
  git('checkout', '-q', 'main');
}

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb, { lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'] });
  // test: every node behind HAProxy (no tag required there); prod, the same nodes, takes tags only.
  fs.copyFileSync(path.join(project.dir, 'hosts', 'prod.yaml'), path.join(project.dir, 'hosts', 'test.yaml'));
  fs.rmSync(path.join(project.dir, 'hosts', 'dev.yaml'));
  // main: the answer names the files under features/, so the bytes through HAProxy show what was merged.
  const server = path.join(project.appRepo, 'server.js');
  const features =
    "const features = fs.existsSync(path.join(root, 'features')) ? " +
    "fs.readdirSync(path.join(root, 'features')).sort().join('+') : '';\n";
  fs.writeFileSync(
    server,
    fs
      .readFileSync(server, 'utf8')
      .replace('const port =', `${features}const port =`)
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the app's source text, not this file's.
      .replace('${greeting} from ${info.version} (', '${greeting} from ${info.version} [${features}] ('),
  );
  git('add', '-A');
  git('commit', '-q', '-m', 'answer with the features');
  branch('feat-a', 'a');
  branch('feat-b', 'b');
  branch('feat-c', 'c');
  branch('feat-x', 'shared.txt', 'x wants this\n');
  branch('feat-y', 'shared.txt', 'y wants that\n');
});

afterAll(() => {
  stopApps(sb);
  project.remove();
});

describe('branch environments: deploy test --branches', () => {
  it('merges three branches onto main, serves them through HAProxy, and journals each branch with its commit', async () => {
    const result = await project.deploy(['test', '--branches', 'feat-a,feat-b,feat-c']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const release = project.current('node1')!.replace('releases/', '');
    expect(release).toMatch(/^hello_test_3-branches-[0-9a-f]{12}_main_\d{8}-\d{6}_/);
    for (const node of NODES) expect(project.current(node)).toBe(`releases/${release}`);
    const answers = await servedThroughLb(sb, '[a+b+c]');
    expect(answers.every((a) => a.includes('[a+b+c]'))).toBe(true);

    const held = ['feat-a', 'feat-b', 'feat-c'].map((name) => ({ name, commit: git('rev-parse', name) }));
    const base = { name: 'main', commit: git('rev-parse', 'main') };
    const finished = project.journal('node3').at(-1)!;
    expect(finished).toMatchObject({ event: 'run_finished', result: 'success', merged: { base, branches: held } });
    expect(finished.command).toBe('deploy test --branches feat-a,feat-b,feat-c --base main');
    const activated = project.journal('node2').find((e) => e.event === 'activated' && e.release === release);
    expect(activated).toMatchObject({ merged: { base, branches: held } });

    const history = cliJson('history', (await project.deploy(['history', 'test', '--json'])).stdout);
    expect(history.runs[0]).toMatchObject({ command: finished.command, merged: { base, branches: held } });
    const table = (await project.deploy(['history', 'test'])).stdout;
    expect(table).toContain(`merged onto main: feat-a ${held[0]!.commit.slice(0, 12)}`);

    // The merge is relink's own ref in the app repository, never a branch.
    const merge = finished.commit as string;
    expect(git('rev-parse', 'refs/relink/merges/test')).toBe(merge);
    expect(git('branch', '--contains', merge)).toBe('');
    expect(git('rev-list', '--parents', '-n', '1', merge).split(' ').slice(1)).toEqual([
      base.commit,
      ...held.map((b) => b.commit),
    ]);

    // After a push to feat-b, running it again merges the new commit.
    git('checkout', '-q', 'feat-b');
    fs.writeFileSync(path.join(project.appRepo, 'features', 'b2'), 'more of b\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'feat-b: more');
    git('checkout', '-q', 'main');
    const again = await project.deploy(['test', '--branches', 'feat-a,feat-b,feat-c']);
    expect(again.code).toBe(0);
    expect((await servedThroughLb(sb, '[a+b+b2+c]')).every((a) => a.includes('[a+b+b2+c]'))).toBe(true);
    expect(project.journal('node1').at(-1)!.merged).toMatchObject({
      branches: [{ name: 'feat-a' }, { name: 'feat-b', commit: git('rev-parse', 'feat-b') }, { name: 'feat-c' }],
    });
  });

  it('refuses a conflicting pair, naming both branches and the file, before anything is built or uploaded', async () => {
    const before = NODES.map((n) => [project.current(n), project.releases(n).length]);
    const refused = await project.deploy(['test', '--branches', 'feat-a,feat-x,feat-y']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/feat-x and feat-y conflict in: features\/shared\.txt/);
    expect(refused.stdout).not.toMatch(/build:artifact|distribute/);
    expect(NODES.map((n) => [project.current(n), project.releases(n).length])).toEqual(before);
  });

  it('refuses --branches where the environment takes tags only, and a name that is not a branch', async () => {
    const prod = await project.deploy(['prod', '--branches', 'feat-a']);
    expect(prod.code).toBe(2);
    expect(prod.stderr).toMatch(
      /prod takes tags only: branch environments are for environments that do not require a tag/,
    );
    const option = await project.deploy(['test', '--branches=--upload-pack=touch /tmp/relink-pwned']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/is not a branch name relink accepts/);
    const missing = await project.deploy(['test', '--branches', 'feat-q']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no branch "feat-q" in .*; closest: /);
  });
});

describe('deploy logs --grep', () => {
  it('finds a line on the one node that has it, the node in front; --max keeps the newest; a pattern is never an option', async () => {
    const log = `${project.deployTo}/shared/log/app.log`;
    onNode(sb, 'node3', `echo 'trace=7f3a9c GET /checkout 500' >> ${log}`);
    onNode(sb, 'node2', `for i in 1 2 3 4 5; do echo "tick $i" >> ${log}; done`);
    const found = await project.deploy(['logs', 'test', '--grep', 'trace=7f3a9c']);
    expect(found.code).toBe(0);
    expect(found.stdout).toMatch(/^node3 \| trace=7f3a9c GET \/checkout 500\n$/);

    const newest = await project.deploy(['logs', 'test', '--grep', 'tick', '--max', '2']);
    expect(newest.stdout).toBe('node2 | tick 4\nnode2 | tick 5\n');
    expect(newest.stderr).toMatch(/node2: only the newest 2 matching lines are shown/);

    // `-v` is text to find, not grep's "invert": nothing has it.
    const invert = await project.deploy(['logs', 'test', '--grep=-v']);
    expect(invert.stdout).toBe('');
    expect(invert.stderr).toMatch(/no line matches on any node of test/);
    const hostile = await project.deploy(['logs', 'test', '--grep', "'; touch /tmp/relink-grep-pwned; '"]);
    expect(hostile.code).toBe(0);
    expect(onNode(sb, 'node1', 'ls /tmp/relink-grep-pwned 2>/dev/null || echo absent').trim()).toBe('absent');
  });
});
