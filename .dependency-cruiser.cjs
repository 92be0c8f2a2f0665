// The layers of src/, from the bottom up. A module may import its own layer
// and the layers below it, never one above, never in a cycle; only
// src/transport/ starts processes or opens sockets. Checked by `npm run lint`.
//
//   core       errors.ts, next.ts, cjs.ts, poll.ts, log/, remote/ (pure builders), journal/ (pure)
//   model      config/, inventory/, template/
//   transport  transport/ (ssh, rsync, git, local processes, http, mail)
//   plug-ins   lb/ (drivers), notify/ (channels), gates/ (pure decisions)
//   phases     pipeline/context.ts, pipeline/phases/, pipeline/rollout/, pipeline/distribution/ (push, relay,
//              pull), pipeline/shared/ (what the phases share: the Source, journal records)
//   lifecycle  pipeline/lifecycle/ (the one locked-run lifecycle)
//   commands   pipeline/*.ts (deploy, rollback: their lists of phases)
//   app        app/ (the operations both doors call, the composition root, the --json shapes)
//   cli        cli/, bin/, index.ts, web/ (the dashboard of `deploy serve`; its socket is transport/web-server.ts)
//
// The two doors, cli/ and web/, import only app/, log/, errors.ts and their own files; web/ never cli/.
const layers = [
  { name: 'core', path: '^src/((errors|cjs|poll|next)\\.ts$|log/|remote/|journal/)' },
  { name: 'model', path: '^src/(config|inventory|template)/' },
  { name: 'transport', path: '^src/transport/' },
  { name: 'plug-ins', path: '^src/(lb|notify|gates)/' },
  { name: 'phases', path: '^src/pipeline/(context\\.ts$|phases/|rollout/|distribution/|shared/)' },
  { name: 'lifecycle', path: '^src/pipeline/lifecycle/' },
  { name: 'commands', path: '^src/pipeline/(?!context\\.ts$)[^/]+\\.ts$' },
  { name: 'app', path: '^src/app/' },
  { name: 'cli', path: '^src/(cli/|bin/|web/|index\\.ts$)' },
];

const upward = layers.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}-imports-up`,
  comment: `${layer.name} may import only ${layers
    .slice(0, i + 1)
    .map((l) => l.name)
    .join(', ')}: move the shared piece down, or pass it in`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: layers.slice(i + 1).map((l) => l.path) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'doors-import-only-app',
      comment:
        'cli/ and web/ are doors: they import src/app/ (the operations), log/, errors.ts and their own files ' +
        '(and `deploy serve` the dashboard it starts); what a door needs of the engine is an operation in src/app/',
      severity: 'error',
      from: { path: '^src/(cli|web)/' },
      to: {
        path: '^src/',
        pathNot: ['^src/(app|log)/', '^src/errors\\.ts$', '^src/$1/', '^src/web/(server|users|users-cli)\\.ts$'],
      },
    },
    {
      name: 'web-not-into-cli',
      comment: 'the dashboard does not climb into the CLI: what both need is in src/app/',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-cycles',
      comment: 'an import cycle ties two modules into one: move what both need into a third, lower module',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'processes-and-sockets-only-in-transport',
      comment: 'only src/transport/ starts a process or opens a socket; describe the work and hand it to a transport',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/transport/' },
      to: {
        dependencyTypesNot: ['type-only'],
        path: '^(node:)?(child_process|net|tls|http|https|http2|dgram|cluster|worker_threads)$|^(node_modules/)?(zx|ssh2|node-ssh|nodemailer|@hono/node-server)(/|$)',
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'the import names a module that does not exist',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
