import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  json: { type: 'boolean', describe: 'machine-readable output' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'analyze <env>',
  describe:
    "run the analysis' queries (config `analysis`) against the fleet as it is now: each value for the canary " +
    'and the baseline, and whether its bounds hold; exit 1 when one does not',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => analyzeCommand(argv),
});

export async function analyzeCommand(argv: { env: string; json?: boolean; config?: string }): Promise<void> {
  const { analyzeEnv } = await import('../app/analyze.js');
  const result = await analyzeEnv(argv.env, argv.config);
  if (!result.ok) process.exitCode = 1;
  if (argv.json) {
    const { analyzeJson, printJson } = await import('../app/shapes.js');
    printJson(analyzeJson, result);
    return;
  }
  const { verdictLine } = await import('../app/analysis-lines.js');
  const set = (s: typeof result.canary) => `${s.nodes.join(', ') || '(none)'} (${s.version}, ${s.release})`;
  const lines = [
    `analysis of ${result.env}, the fleet as it is now`,
    `  canary    ${set(result.canary)}`,
    `  baseline  ${set(result.baseline)}`,
    ...result.queries.flatMap((q) => [
      `  ${verdictLine(q)}`,
      `    canary:   ${q.promql}`,
      ...(q.baselinePromql ? [`    baseline: ${q.baselinePromql}`] : []),
    ]),
    result.ok ? 'every query holds' : 'FAILED: a query does not hold (a deploy would be rolled back)',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
