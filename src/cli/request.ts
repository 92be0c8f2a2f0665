// `deploy request <env> <version>`: ask for a deploy to an environment with approvals (bound to the commit).
import { type GlobalOptions, type OptionSet, verb, withEnv } from './options.js';

export const options = {
  author: { type: 'string', describe: 'who asks (default: git config user.name)' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'request <env> <version>',
  describe: 'ask for a deploy to an environment that needs approval (bound to the commit of <version>)',
  builder: (y) =>
    withEnv(y)
      .positional('version', { type: 'string', demandOption: true, describe: 'tag to release' })
      .options(options),
  handler: (argv) => requestCommand(argv),
});

export async function requestCommand(
  argv: GlobalOptions & { env: string; version: string; author?: string; json?: boolean },
): Promise<void> {
  const { requestDeploy } = await import('../app/approvals.js');
  const { whoAmI } = await import('../app/deps.js');
  const requester = await whoAmI(argv.author);
  const r = await requestDeploy({ env: argv.env, version: argv.version, requester, config: argv.config });
  if (argv.json) {
    const { approvalRequestJson, printJson } = await import('../app/shapes.js');
    printJson(approvalRequestJson, r);
    return;
  }
  const { nextStep, phrase } = await import('../app/phrase.js');
  const approve = nextStep('approve', undefined, { server: '<dashboard url>' }, [r.id]);
  const then = nextStep('deploy', r.env, undefined, [r.version]);
  const ask = "next: someone else who may approve does it on the dashboard's approvals page, or: ";
  process.stdout.write(
    `request ${r.id}: deploy ${r.env} ${r.version} (commit ${r.commit.slice(0, 12)}), asked by ${r.requester}\n` +
      `${phrase([ask, approve, '; then: ', then])}\n`,
  );
}
