import { EXIT, UsageError } from '../errors.js';
import { changingNodes } from '../log/changing.js';
import { type GlobalOptions, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  author: { type: 'string', describe: 'name in the release name and journal (default: git config user.name)' },
  'on-failure': {
    choices: ['rollback', 'halt'],
    describe: 'after a failed node: roll back switched nodes, or halt for inspection',
  },
  node: { type: 'string', array: true, describe: 'only these nodes' },
  'allow-poison': {
    type: 'string',
    array: true,
    describe: 'release anyway although it contains this known bug (needs --reason)',
  },
  emergency: { type: 'boolean', describe: 'outside the release windows: go ahead anyway (needs --reason); journaled' },
  'skip-analysis': {
    type: 'boolean',
    describe: 'release without the analysis of config `analysis` (needs --reason); journaled',
  },
  reason: { type: 'string', describe: 'why, for the journal' },
  'retry-failed': {
    type: 'boolean',
    describe: "only the nodes the last partial deploy of this version set aside, onto that deploy's release",
  },
  branches: {
    type: 'string',
    array: true,
    describe: 'instead of a version: merge these branches (a,b,c) onto --base and deploy that (not where tags only)',
  },
  base: { type: 'string', describe: 'with --branches: the branch they are merged onto (default: the default branch)' },
  'adopt-shared': {
    type: 'boolean',
    describe:
      'a shared link of the running release that became a file or dir: move that copy into shared/ ' +
      '(the one there kept as <name>.relink-<time>)',
  },
} as const satisfies OptionSet;

export interface DeployArgs extends GlobalOptions {
  env: string;
  version?: string;
  branches?: string[];
  base?: string;
  author?: string;
  onFailure?: 'rollback' | 'halt';
  node?: string[];
  allowPoison?: string[];
  emergency?: boolean;
  skipAnalysis?: boolean;
  reason?: string;
  retryFailed?: boolean;
  adoptShared?: boolean;
}

export const command = verb({
  command: '$0 <env> [version]',
  describe: 'deploy a version (a tag; in dev/test also a branch or commit, or --branches merged together)',
  builder: (y) =>
    withEnv(y)
      .positional('version', { type: 'string', describe: 'tag to release, e.g. v1.1.0 (or --branches)' })
      .options(options),
  handler: (argv) => deployCommand(argv),
});

export async function deployCommand(argv: DeployArgs): Promise<void> {
  const branches = argv.branches?.length ? argv.branches : undefined;
  if (Boolean(argv.version) === Boolean(branches) || (argv.base && !branches)) {
    const hint = 'e.g. deploy prod v1.1.0, or deploy test --branches feat-a,feat-b [--base main]';
    throw new UsageError('name a version, or --branches (with an optional --base), not both', { hint });
  }
  const { openRun } = await import('../app/compose.js');
  // From here to its end a closed stdout does not end the process (bin/quiet-pipe.ts).
  const ended = changingNodes();
  // The pipeline loads while the run opens (and its connections start).
  const pipeline = import('../app/deploy.js');
  pipeline.catch(() => undefined);
  const run = await openRun({
    env: argv.env,
    config: argv.config,
    author: argv.author,
    onFailure: argv.onFailure,
    command: 'deploy',
    warm: { nodes: argv.node },
  });
  try {
    const { release, releaseBranches } = await pipeline;
    const { version, allowPoison, emergency, reason, retryFailed, adoptShared, skipAnalysis } = argv;
    const asked = { nodes: argv.node, allowPoison, emergency, reason, adoptShared, skipAnalysis };
    const outcome = branches
      ? await releaseBranches(run, { ...asked, branches, base: argv.base })
      : await release(run, { ...asked, version: version!, retryFailed });
    // Released, with nodes set aside: not a success, not a failure.
    if (outcome.setAside.length) process.exitCode = EXIT.partial;
  } finally {
    await run.close();
    ended();
  }
}
