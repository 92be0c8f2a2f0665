import path from 'node:path';
import { UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {
  port: { type: 'string', default: '8700', describe: 'port to listen on' },
  host: { type: 'string', default: '127.0.0.1', describe: 'address to listen on (beyond loopback: needs TLS)' },
  'tls-cert': { type: 'string', describe: 'PEM certificate: serve HTTPS' },
  'tls-key': { type: 'string', describe: 'PEM private key of --tls-cert' },
  'behind-proxy': {
    type: 'boolean',
    describe: 'a reverse proxy in front terminates TLS (trusts its X-Forwarded-For and X-Forwarded-Host)',
  },
  users: { type: 'string', describe: 'the users file (default: .relink/users.json beside deploy.config.ts)' },
  'cache-ms': { type: 'string', default: '5000', describe: 'how long a read of the nodes is served' },
  'add-user': { type: 'string', describe: 'add or replace a user (password from stdin or a prompt), then exit' },
  'add-token': { type: 'string', describe: 'add an API token for CI or a bot (printed once), then exit' },
  'expires-days': { type: 'string', describe: 'with --add-token: days until the token is refused (default 90)' },
  'remove-user': { type: 'string', describe: 'remove a user or token, then exit' },
  'list-users': { type: 'boolean', describe: 'list users and tokens, then exit' },
  role: { choices: ['viewer', 'deployer'], describe: 'with --add-user/--add-token: what they may do' },
  env: { type: 'string', array: true, describe: 'with --role deployer: only in these environments' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'serve',
  describe: 'the web dashboard: environments, releases, runs live, stats, release gate; deploy and rollback',
  builder: (y) => y.options(options),
  handler: (argv) => serveCommand(argv),
});

export async function serveCommand(argv: {
  port: string;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  behindProxy?: boolean;
  users?: string;
  cacheMs: string;
  addUser?: string;
  addToken?: string;
  expiresDays?: string;
  removeUser?: string;
  listUsers?: boolean;
  role?: string;
  env?: string[];
  config?: string;
}): Promise<void> {
  const { projectRoot } = await import('../app/project.js');
  const { defaultUsersFile } = await import('../web/users.js');
  const root = projectRoot(argv.config);
  const usersFile = argv.users ? path.resolve(argv.users) : defaultUsersFile(root);
  if (argv.addUser || argv.addToken || argv.removeUser || argv.listUsers) {
    const { usersCommand } = await import('../web/users-cli.js');
    return usersCommand({ file: usersFile, ...argv });
  }
  const whole = (name: string, text: string, min: number) => {
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min)
      throw new UsageError(`${name} takes a whole number, not ${JSON.stringify(text)}`);
    return n;
  };
  const port = whole('--port', argv.port, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, not ${port}`);
  if (Boolean(argv.tlsCert) !== Boolean(argv.tlsKey)) throw new UsageError('give --tls-cert and --tls-key together');
  const { serve } = await import('../web/server.js');
  await serve({
    host: argv.host,
    port,
    usersFile,
    tls: argv.tlsCert && argv.tlsKey ? { cert: argv.tlsCert, key: argv.tlsKey } : undefined,
    behindProxy: argv.behindProxy,
    configPath: argv.config,
    cacheMs: whole('--cache-ms', argv.cacheMs, 0),
  });
}
