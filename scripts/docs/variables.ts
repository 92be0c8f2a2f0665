// The template variables and the RELINK_* environment, read from the code that makes them
// (src/template/scope.ts) with sample inputs: a variable the code adds without a line here fails the
// generator, and so the docs test.
import { resolveConfig } from '../../src/config/load.js';
import { validateUserConfig } from '../../src/config/validate.js';
import type { Inventory, NodeSpec } from '../../src/inventory/types.js';
import { releaseName } from '../../src/remote/release-name.js';
import { commandEnv, templateScope } from '../../src/template/scope.js';

/** Variables that are maps of names the user chooses: documented as `<key>.<name>`. */
const MAPS = { host: '<name>', vars: '<name>', secret: '<NAME>' } as const;

const VARIABLES: Record<string, string> = {
  project: '`project` of deploy.config.ts',
  env: 'the environment (the hosts/<env>.yaml file)',
  deployTo: "the environment's `deployTo`",
  release: 'the release directory name (`<project>_<env>_<version>_<branch>_<YYYYMMDD-HHMMSS>_<author>`)',
  version: 'what was asked for: the tag (or, where allowed, branch or commit)',
  commit: 'its full commit id',
  branch: 'the branch it is on',
  'node.name': "the node's `name` in hosts/<env>.yaml",
  'node.address': "the node's `address`",
  'node.port': "the node's SSH `port`",
  'node.user': "the node's SSH `user`",
  'node.roles': "the node's `roles`, comma-separated",
  'host.<name>': "the node's `vars` in hosts/<env>.yaml (e.g. `{{ host.appPort }}`)",
  'vars.<name>': '`vars` of deploy.config.ts (and its environment), then `vars` of hosts/<env>.yaml over them',
  'secret.<NAME>': 'a secret named in `secrets`, from the environment or `secretsFile`; never logged',
};

const ENVIRONMENT: Record<string, string> = {
  RELINK_PROJECT: '`project`',
  RELINK_ENV: 'the environment',
  RELINK_DEPLOY_TO: '`deployTo`',
  RELINK_NODE: 'the node name',
  RELINK_RELEASE: 'the release directory name',
  RELINK_VERSION: 'the version',
  RELINK_COMMIT: 'the commit id',
};

const user = {
  project: 'shop',
  repo: '.',
  deployTo: '/srv/shop',
  vars: { greeting: 'hello' },
  secrets: ['APP_SECRET'],
};
const config = resolveConfig(validateUserConfig(user, 'deploy.config.ts'), 'prod', '/home/ana/shop/deploy.config.ts');
const node: NodeSpec = {
  name: 'web1',
  address: '10.0.0.11',
  port: 22,
  user: 'deploy',
  roles: ['app', 'web'],
  vars: { appPort: 3000 },
};
const inventory: Inventory = {
  env: 'prod',
  file: 'hosts/prod.yaml',
  preInPool: true,
  groupSize: 1,
  vars: {},
  hosts: [node],
};
const version = 'v1.4.0';
const time = new Date('2025-03-04T17:00:00Z');
const facts = {
  release: releaseName({ project: 'shop', env: 'prod', version, branch: 'main', time, author: 'ana' }),
  version,
  commit: '3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39',
  branch: 'main',
};

export interface Variable {
  readonly name: string;
  readonly about: string;
  readonly example: string;
}

function described(name: string, table: Record<string, string>, where: string): string {
  const about = table[name];
  if (!about) throw new Error(`${where} has ${name}, which scripts/docs/variables.ts does not describe`);
  return about;
}

/** The variables of `{{ ... }}`, in the order templateScope makes them, with an example value each. */
export function templateVariables(): Variable[] {
  const scope = templateScope(config, inventory, node, facts, { APP_SECRET: 's3cr3t' });
  const out: Variable[] = [];
  for (const [key, value] of Object.entries(scope)) {
    if (key in MAPS) {
      const name = `${key}.${MAPS[key as keyof typeof MAPS]}`;
      const [sample, sampleValue] = Object.entries(value as object)[0] ?? [];
      out.push({
        name,
        about: described(name, VARIABLES, 'templateScope'),
        example: `${key}.${sample} = ${sampleValue}`,
      });
    } else if (value && typeof value === 'object') {
      for (const [sub, v] of Object.entries(value)) {
        const name = `${key}.${sub}`;
        out.push({ name, about: described(name, VARIABLES, 'templateScope'), example: String(v) });
      }
    } else out.push({ name: key, about: described(key, VARIABLES, 'templateScope'), example: String(value) });
  }
  const unused = Object.keys(VARIABLES).filter((k) => !out.some((v) => v.name === k));
  if (unused.length)
    throw new Error(`scripts/docs/variables.ts describes ${unused.join(', ')}, which templateScope lacks`);
  return out;
}

/** The RELINK_* variables of restart, smoke and backup commands and of the LB's commands. */
export function commandVariables(): Variable[] {
  const env = commandEnv(config, node, facts);
  const unused = Object.keys(ENVIRONMENT).filter((k) => !(k in env));
  if (unused.length)
    throw new Error(`scripts/docs/variables.ts describes ${unused.join(', ')}, which commandEnv lacks`);
  return Object.entries(env).map(([name, example]) => ({
    name,
    about: described(name, ENVIRONMENT, 'commandEnv'),
    example,
  }));
}
