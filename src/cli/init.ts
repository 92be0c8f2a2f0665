import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { INIT_LB_DRIVERS, INIT_SERVICE_MANAGERS } from '../app/names.js';
import { InterruptedError, UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {
  project: { type: 'string', describe: 'project name (default: the repository directory name)' },
  'deploy-to': { type: 'string', describe: 'directory on the nodes (default: /srv/<project>)' },
  lb: { type: 'string', choices: INIT_LB_DRIVERS, describe: "prod's load balancer (default: none)" },
  hosts: {
    type: 'string',
    array: true,
    describe:
      'prod nodes: a,b or name=address:port,... (22 when no port); another environment: dev=d1 or ' +
      'dev=d1=address:port (only the environments named get a hosts file)',
  },
  user: { type: 'string', describe: 'SSH user on the nodes (default: deploy)' },
  service: {
    type: 'string',
    choices: INIT_SERVICE_MANAGERS,
    describe: 'run the app as a service of this manager on the nodes (default: none, a commented example)',
  },
  yes: { type: 'boolean', alias: 'y', describe: 'ask nothing: what no option says takes its default' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'init',
  describe: "start relink in an application's repository: deploy.config.ts, hosts/<env>.yaml, templates/",
  builder: (y) => y.options(options),
  handler: (argv) => initCommand(argv),
});

export interface InitArgs {
  project?: string;
  deployTo?: string;
  lb?: string;
  hosts?: string[];
  user?: string;
  service?: string;
  yes?: boolean;
}

export async function initCommand(argv: InitArgs): Promise<void> {
  const { CONFIG_FILES, gitTopLevel } = await import('../app/project.js');
  const { IGNORED, INIT_ENVS, initFiles, withIgnored } = await import('./init-files.js');
  const { answers, parseHosts, questions } = await import('./init-answers.js');
  const root = await gitTopLevel(process.cwd());
  if (!root) {
    throw new UsageError('deploy init: not in a git repository', {
      hint: "run it in your application's repository (git init first for a new one)",
    });
  }
  const flags = { ...argv, hosts: argv.hosts?.map(String) };
  const given = parseHosts(flags.hosts ?? []);
  const draft = initFiles(answers(flags, path.basename(root)));
  // Refuse before asking anything: init never overwrites, and writes all or nothing.
  const taken = [...CONFIG_FILES, ...draft.keys(), ...[...draft.keys()].map((f) => f.replace(/\.yaml$/, '.yml'))]
    .filter((f, i, all) => all.indexOf(f) === i && fs.existsSync(path.join(root, f)))
    .sort();
  if (taken.length) {
    throw new UsageError(
      `deploy init: ${taken.join(', ')} already exist${taken.length > 1 ? '' : 's'}; nothing written`,
      {
        hint: 'deploy init never overwrites: edit the file(s), or move them aside and run it again',
      },
    );
  }
  const interactive = !argv.yes && process.stdin.isTTY && process.stdout.isTTY && !process.env.CI;
  const asked = interactive ? await ask(questions(flags, path.basename(root), given)) : {};
  const files = initFiles(answers(flags, path.basename(root), asked));
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text, { flag: 'wx' });
  }
  const gitignore = path.join(root, '.gitignore');
  const ignored = withIgnored(fs.existsSync(gitignore) ? fs.readFileSync(gitignore, 'utf8') : undefined);
  if (ignored !== undefined) fs.writeFileSync(gitignore, ignored);
  const pkg = path.join(root, 'package.json');
  const installed = fs.existsSync(pkg) && /"relink"\s*:/.test(fs.readFileSync(pkg, 'utf8'));
  const unnamed = INIT_ENVS.filter((env) => !files.has(`hosts/${env}.yaml`));
  const app = argv.service !== undefined && argv.service !== 'none' ? 'service.start' : 'service (or restart)';
  const out = [
    `wrote in ${root}:`,
    ...[...files.keys()].map((f) => `  ${f}`),
    `  .gitignore: ${ignored === undefined ? 'already ignores' : 'now ignores'} ${IGNORED.join(' and ')}`,
    '',
    'next:',
    ...(installed ? [] : ['  npm i -D relink']),
    `  fill in the nodes in hosts/*.yaml, and ${app} and smoke in deploy.config.ts`,
    ...(unnamed.length
      ? [`  another environment (${unnamed.join(', ')}): copy hosts/prod.yaml to hosts/<env>.yaml and edit its nodes`]
      : []),
    '  npx deploy doctor prod          # ssh, host keys, deployTo, disk, tools, load balancer',
    '  npx deploy plan prod <tag>      # every step per node; changes nothing',
    '  npx deploy prod <tag>',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Asks each question on the terminal until its answer passes; Enter takes the default, Ctrl-C stops (exit 130). */
async function ask(
  list: readonly { key: string; ask: string; fallback: string; check: (v: string) => string | undefined }[],
): Promise<Record<string, string>> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const stop = new AbortController();
  rl.on('SIGINT', () => stop.abort());
  const out: Record<string, string> = {};
  try {
    for (const q of list) {
      const fallback = q.key === 'deployTo' && out.project ? `/srv/${out.project}` : q.fallback;
      for (;;) {
        const reply = (await rl.question(`${q.ask} [${fallback}]: `, { signal: stop.signal })).trim() || fallback;
        const wrong = q.check(reply);
        if (!wrong) {
          out[q.key] = reply;
          break;
        }
        process.stdout.write(`  ${wrong}\n`);
      }
    }
  } catch (error) {
    if (stop.signal.aborted) throw new InterruptedError('SIGINT');
    throw error;
  } finally {
    rl.close();
  }
  return out;
}
