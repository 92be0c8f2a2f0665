// The layers of src/, from the bottom up. A module may import its own layer
// and the layers below it, never one above, never in a cycle; only
// src/transport/ starts processes or opens sockets. Checked by `npm run lint`.
//
//   core       errors.ts, cjs.ts, poll.ts, log/, remote/ (pure builders), journal/ (pure)
//   model      config/, inventory/, template/
//   transport  transport/ (ssh, rsync, git, local processes, http, mail)
//   plug-ins   lb/ (drivers), notify/ (channels), gates/ (pure decisions)
//   phases     pipeline/context.ts, pipeline/phases/, pipeline/rollout/
//   lifecycle  pipeline/lifecycle/ (the one locked-run lifecycle)
//   commands   pipeline/*.ts (deploy, rollback: their lists of phases)
//   cli        cli/, bin/, index.ts, web/ (the dashboard of `deploy serve`; its socket is transport/web-server.ts)
const layers = [
  { name: 'core', path: '^src/((errors|cjs|poll)\\.ts$|log/|remote/|journal/)' },
  { name: 'model', path: '^src/(config|inventory|template)/' },
  { name: 'transport', path: '^src/transport/' },
  { name: 'plug-ins', path: '^src/(lb|notify|gates)/' },
  { name: 'phases', path: '^src/pipeline/(context\\.ts$|phases/|rollout/)' },
  { name: 'lifecycle', path: '^src/pipeline/lifecycle/' },
  { name: 'commands', path: '^src/pipeline/(?!context\\.ts$)[^/]+\\.ts$' },
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
