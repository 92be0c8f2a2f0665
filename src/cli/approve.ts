// `deploy approve <id> --server <url>`: approve someone else's request through the dashboard, which signs it.
import { type GlobalOptions, type OptionSet, verb } from './options.js';

export const options = {
  server: { type: 'string', demandOption: true, describe: 'the dashboard (deploy serve) that signs the approval' },
  token: { type: 'string', describe: 'its API token (default: $RELINK_TOKEN)' },
  deploy: { type: 'boolean', describe: 'approve and deploy: the dashboard starts the deploy at once' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'approve <id>',
  describe: "approve someone else's deploy request, through the dashboard's API with a token",
  builder: (y) =>
    y.positional('id', { type: 'string', demandOption: true, describe: 'the request id' }).options(options),
  handler: (argv) => approveCommand(argv),
});

export async function approveCommand(
  argv: GlobalOptions & { id: string; server: string; token?: string; deploy?: boolean; json?: boolean },
): Promise<void> {
  const { approveRemote } = await import('../app/approve-remote.js');
  const token = argv.token ?? process.env.RELINK_TOKEN;
  const answer = await approveRemote({ server: argv.server, token, id: argv.id, deploy: argv.deploy });
  if (argv.json) {
    const { approvedJson, printJson } = await import('../app/shapes.js');
    printJson(approvedJson, answer);
    return;
  }
  const a = answer.approval;
  process.stdout.write(
    `approved ${a.request}: ${a.env} ${a.version} (commit ${a.commit.slice(0, 12)}) by ${a.approver}, ` +
      `until ${a.expiresAt}\n${answer.run ? `deploy started: run ${answer.run}\n` : ''}`,
  );
}
