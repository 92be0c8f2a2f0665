import type { AnalyzeJson } from '../app/shapes.js';
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
    ...(result.alerts ? alertLines(result.alerts) : []),
    verdict(result),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The alerts check: where the alerts were read, with which matchers, and what fires. */
function alertLines(alerts: NonNullable<AnalyzeJson['alerts']>): string[] {
  const head = `  alerts ${alerts.count ?? 'no data'} (none firing): ${alerts.ok ? 'ok' : `FAILED, ${alerts.why}`}`;
  return [head, `    ${alerts.source}: ${alerts.url} {${alerts.matchers.join(',')}}`];
}

/** The last line: whether a deploy would go on. */
function verdict(result: AnalyzeJson): string {
  const { alerts } = result;
  if (result.ok) return alerts ? 'every query holds, no matching alert fires' : 'every query holds';
  const what = !result.queries.every((q) => q.ok)
    ? 'a query does not hold'
    : alerts?.count === null
      ? 'the alerts could not be read'
      : 'a matching alert fires';
  return `FAILED: ${what} (a deploy would be rolled back)`;
}
