import crypto from 'node:crypto';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
/** The built CLI: dist/, or RELINK_DIST when a second build of the tree is tested beside the first. */
export const distDir = process.env.RELINK_DIST ?? path.join(repoRoot, 'dist');
const bin = path.join(distDir, 'bin', 'deploy.js');
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');
const run = promisify(execFile);

export interface SandboxNode {
  name: string;
  /** 127.0.0.1, or the node's own address when it has a network namespace. */
  address: string;
  /** The network namespace and the host end of its veth pair, for nodes started with --netns. */
  netns?: string;
  veth?: string;
  sshPort: number;
  appPort: number;
  dir: string;
  /** The node's unshare process (its namespaces' holder; a reboot changes it). */
  pid: number;
}

export interface Sandbox {
  dir: string;
  lbPort: number;
  nodes: SandboxNode[];
  haproxy: { socket: string; backend: string; port: number };
  nginx: { port: number; prefix: string; config: string; upstream: string };
}

/**
 * The sandbox in `dir`; given the integration run's root (sandbox-setup.ts), a sandbox of this
 * test file (claimed from <root>/w1..wN), which no other file uses while this one runs.
 */
export function readSandbox(dir: string): Sandbox {
  const own = fs.existsSync(path.join(dir, 'sandbox.json')) ? dir : claimSandbox(dir);
  const file = path.join(own, 'sandbox.json');
  if (!fs.existsSync(file)) throw new Error(`no sandbox at ${own}`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Sandbox;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Claims one of the run's per-worker sandboxes (<root>/w<N>) for this test file's process, until it exits.
 * VITEST_POOL_ID cannot pick it: two files running at once were seen with the same id. Every integration file
 * runs in a process of its own, so a claim is a directory holding the claiming pid (mkdir is the atomic step);
 * a claim whose process is gone is taken over.
 */
function claimSandbox(root: string): string {
  const dirs = fs
    .readdirSync(root)
    .filter((d) => /^w\d+$/.test(d))
    .sort()
    .map((d) => path.join(root, d));
  const deadline = Date.now() + 300_000;
  for (;;) {
    for (const d of dirs) {
      const claim = path.join(d, 'claimed-by');
      const pidFile = path.join(claim, 'pid');
      try {
        fs.mkdirSync(claim);
      } catch {
        const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : Number.NaN);
        if (pid === process.pid) return d;
        // No pid yet: another process is claiming it right now.
        if (!Number.isInteger(pid) || alive(pid)) continue;
        fs.rmSync(claim, { recursive: true, force: true });
        try {
          fs.mkdirSync(claim);
        } catch {
          continue;
        }
      }
      fs.writeFileSync(pidFile, String(process.pid));
      process.once('exit', () => fs.rmSync(claim, { recursive: true, force: true }));
      return d;
    }
    if (Date.now() > deadline) throw new Error(`no free sandbox under ${root} after 5 minutes`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

/**
 * Runs a shell command as root on a node, in the node's own namespaces (mount, PID, network): what it sees is
 * what a login there sees (its /srv and /root, its process table). The tests check the nodes this way; the tool
 * itself reaches them only through their sshd. Entering the namespaces costs a few milliseconds where an SSH
 * login costs ~0.1 s of CPU on each side, and the suite makes hundreds of these calls on 2 cores.
 */
export function onNode(sb: Sandbox, node: string, command: string): string {
  // The node's first process, read now: a reboot (sandbox.mjs restart-node) gives the node a new one.
  const state = JSON.parse(fs.readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as Sandbox;
  const pid = state.nodes.find((x) => x.name === node)?.pid;
  if (!pid) throw new Error(`no node ${node} in the sandbox at ${sb.dir}`);
  // unshare (pid) runs the node's init (its sshd, pid 1 inside the node) as its only child.
  const init = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
  if (!init) throw new Error(`${node} is not running (no process under ${pid})`);
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', USER: 'root' };
  return execFileSync('nsenter', ['-t', init, '-m', '-p', '-n', '--', 'bash', '-c', command], {
    encoding: 'utf8',
    env: { ...env, LOGNAME: 'root', LANG: 'C.UTF-8', TMPDIR: '/tmp' },
    cwd: '/',
  });
}

/** Stops every app process on every node so the next test can bind the app ports. */
export function stopApps(sb: Sandbox): void {
  for (const node of sb.nodes) onNode(sb, node.name, "pkill -9 -f '[s]erver[.]js' || true");
}

export interface ProjectOptions {
  deployTo?: string;
  user?: string;
  /** Extra hosts appended to hosts/prod.yaml (e.g. one nobody listens on). */
  extraHosts?: string[];
  /** Replaces the generated known_hosts file. */
  knownHosts?: string;
  /** Extra top-level config keys, as JavaScript source (the config file is an ES module). */
  configExtra?: string;
  /** The `lb:` block of hosts/prod.yaml, as YAML lines. */
  lb?: string[];
  /** Per-node extra vars, e.g. lbServer. */
  vars?: Record<string, string>;
  /** A `service` setting, as TypeScript source, in place of the restart and stop scripts. */
  service?: string;
  /** The app's /metrics on (its app.env without METRICS=off): for the tests that scrape it. */
  metrics?: boolean;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let counter = 0;
let exampleTemplate: string | undefined;

/**
 * The example app's repository (scripts/example-repo.mjs), made once per test process and copied for each
 * project: making it is a zx process and a dozen git commands, most of a second on a busy machine.
 */
function copyExampleRepo(dest: string): void {
  if (!exampleTemplate) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-example-'));
    execFileSync('node', [zx, path.join(repoRoot, 'scripts', 'example-repo.mjs'), '--dir', path.join(dir, 'app')], {
      stdio: 'ignore',
    });
    exampleTemplate = path.join(dir, 'app');
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  execFileSync('cp', ['-a', exampleTemplate, dest]);
}

/** A throwaway project: its own app repository with tags, config, inventory for the sandbox. */
export class Project {
  readonly dir: string;
  readonly appRepo: string;
  readonly deployTo: string;
  readonly configFile: string;

  constructor(
    readonly sb: Sandbox,
    options: ProjectOptions = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-project-'));
    this.appRepo = path.join(this.dir, 'app');
    this.configFile = path.join(this.dir, 'deploy.config.mjs');
    // Unique across test files too: a worker process runs several files, each with its own counter.
    this.deployTo = options.deployTo ?? `/srv/it${process.pid}-${++counter}-${crypto.randomBytes(3).toString('hex')}`;
    copyExampleRepo(this.appRepo);
    fs.mkdirSync(path.join(this.dir, 'hosts'));
    fs.mkdirSync(path.join(this.dir, 'templates'));
    fs.copyFileSync(path.join(repoRoot, 'templates', 'app.env'), path.join(this.dir, 'templates', 'app.env'));
    // The app's metrics (prom-client, ~80 ms of CPU at each start) only for the tests that scrape them. The line
    // goes first: tests that print app.env on a failure read its last lines (the secret).
    if (!options.metrics) {
      const env = path.join(this.dir, 'templates', 'app.env');
      fs.writeFileSync(env, `METRICS=off\n${fs.readFileSync(env, 'utf8')}`);
    }
    const knownHosts = path.join(this.dir, 'known_hosts');
    fs.writeFileSync(knownHosts, options.knownHosts ?? fs.readFileSync(path.join(sb.dir, 'known_hosts'), 'utf8'));
    const user = options.user ?? 'root';
    const hosts = sb.nodes.map(
      (n) =>
        `  - name: ${n.name}\n    address: ${n.address}\n    port: ${n.sshPort}\n    user: ${user}\n    vars: { appPort: ${n.appPort}${options.vars?.[n.name] ? `, ${options.vars[n.name]}` : ''} }`,
    );
    fs.writeFileSync(
      path.join(this.dir, 'hosts', 'prod.yaml'),
      `${['pre: node1', 'groupSize: 1', ...(options.lb ?? []), 'hosts:', ...hosts, ...(options.extraHosts ?? [])].join(
        '\n',
      )}\n`,
    );
    fs.writeFileSync(path.join(this.dir, 'hosts', 'dev.yaml'), `${['hosts:', hosts[1]!].join('\n')}\n`);
    // As .mjs, loaded natively: a deploy.config.ts is transpiled on its first load from a new path (most of a
    // second of CPU per run here, where every project is a new path). The CLI tests and the demo load .ts.
    fs.writeFileSync(
      this.configFile,
      `export default {
  project: 'hello',
  repo: './app',
  deployTo: ${JSON.stringify(this.deployTo)},
  build: { command: 'node build.mjs' },
  shared: { dirs: ['log'] },
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: { greeting: 'hello' },
  secrets: ['APP_SECRET'],
  ${
    options.service
      ? `service: ${options.service},`
      : `restart: { command: 'sh bin/restart.sh', timeoutMs: 15000 },
  stop: { command: 'sh bin/stop.sh', timeoutMs: 15000 },`
  }
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"', retries: 30, intervalMs: 100 },
  ssh: { identityFile: ${JSON.stringify(path.join(sb.dir, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(knownHosts)} },
  ${options.configExtra ?? ''}
};
`,
    );
  }

  /** Runs the built CLI in the project, as CI would (not a TTY). */
  async deploy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
    try {
      const { stdout, stderr } = await run('node', [bin, ...args], {
        cwd: this.dir,
        env: { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value', ...env },
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** Starts the CLI without waiting, for signal tests. */
  spawn(args: string[], env: NodeJS.ProcessEnv = {}) {
    return spawn('node', [bin, ...args], {
      cwd: this.dir,
      env: { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value', ...env },
    });
  }

  /** The deployTo dir of a node, seen from the host through the node's bind-mounted /srv. */
  nodePath(node: string, ...parts: string[]): string {
    const n = this.sb.nodes.find((x) => x.name === node)!;
    return path.join(n.dir, 'srv', this.deployTo.replace(/^\/srv\//, ''), ...parts);
  }

  current(node: string): string | undefined {
    try {
      return fs.readlinkSync(this.nodePath(node, 'current'));
    } catch {
      return undefined;
    }
  }

  releases(node: string): string[] {
    try {
      return fs.readdirSync(this.nodePath(node, 'releases')).sort();
    } catch {
      return [];
    }
  }

  journal(node: string): Array<Record<string, string>> {
    const file = this.nodePath(node, '.relink', 'journal.jsonl');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, string>);
  }

  lockExists(node: string): boolean {
    return fs.existsSync(this.nodePath(node, '.relink', 'lock'));
  }

  /** Commits a change to the app repository and tags it. */
  tag(tag: string, change: (repo: string) => void, subject = `change for ${tag}`): void {
    change(this.appRepo);
    execFileSync('git', ['-C', this.appRepo, 'add', '-A']);
    execFileSync('git', ['-C', this.appRepo, 'commit', '-q', '-m', subject]);
    execFileSync('git', ['-C', this.appRepo, 'tag', '-a', tag, '-m', tag]);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function httpText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.text();
}

/** Asks the node's app and then HAProxy until `count` answers in a row carry `version`, or gives up after 10 s. */
export async function servedThroughLb(sb: Sandbox, version: string, count = 8): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let answers: string[] = [];
  while (Date.now() < deadline) {
    answers = [];
    for (let i = 0; i < count; i++)
      answers.push(await httpText(`http://127.0.0.1:${sb.lbPort}/`).catch((e: Error) => `error ${e.message}`));
    if (answers.every((a) => a.includes(version))) return answers;
    await new Promise((r) => setTimeout(r, 200));
  }
  return answers;
}

/** A change for Project.tag: the app's health check answers 500 (its smoke test fails). */
export function breakHealth(repo: string): void {
  const file = path.join(repo, 'server.js');
  fs.writeFileSync(
    file,
    fs
      .readFileSync(file, 'utf8')
      .replace(
        "res.writeHead(200, { 'content-type': 'application/json' });",
        "res.writeHead(500, { 'content-type': 'application/json' });",
      ),
  );
}

/** Starts the CLI and calls `act` the moment its output matches, so a signal or fault lands in a known phase. */
export function startUntil(
  project: Project,
  args: string[],
  pattern: RegExp,
  act: (child: ReturnType<Project['spawn']>) => void,
) {
  const child = project.spawn(args);
  let stdout = '';
  let stderr = '';
  let acted = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!acted && pattern.test(stdout)) {
      acted = true;
      act(child);
    }
  });
  return new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    acted: boolean;
    pid: number;
  }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, acted, pid: child.pid! })),
  );
}
