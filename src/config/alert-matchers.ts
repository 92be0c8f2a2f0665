// The label matchers of the analysis' alerts check (config `analysis.alerts.matchers`): `severity="critical"`,
// `service=~"web|api"`, `env!="staging"`, `team!~"qa.*"`, or an object of labels that must be equal. Parsed here
// for the config's check; evaluated on each alert's labels by the judge (gates/alerts.ts).

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One label matcher, its value as written (template variables are filled in before it is evaluated). */
export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** How the config may write them: a list of matchers, or `{ label: value }` for equality. */
export type MatchersSpec = readonly string[] | Readonly<Record<string, string>>;

const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

/** A label name as Prometheus and Alertmanager accept it. */
export function isLabelName(name: string): boolean {
  return LABEL.test(name);
}

/** `name op "value"` (the value in double quotes, `\"` and `\\` escaped); throws with what is wrong. */
export function parseMatcher(text: string): LabelMatcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Error(`"${text}" is not a label matcher: write label="value" (or !=, =~, !~)`);
  const value = m[3]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  const matcher = { name: m[1]!, op: m[2] as MatchOp, value };
  if (matcher.op.endsWith('~')) regexOf(value.replace(/\{\{[^}]*\}\}/g, 'x'));
  return matcher;
}

/** The matchers a config names, in one form. */
export function matchersOf(spec: MatchersSpec): LabelMatcher[] {
  if (Array.isArray(spec)) return (spec as readonly string[]).map(parseMatcher);
  return Object.entries(spec as Record<string, string>).map(([name, value]) => ({ name, op: '=', value }));
}

/** A matcher as Alertmanager's `filter` and the output write it: `severity="critical"`. */
export function matcherText(m: LabelMatcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

/** A matcher's regular expression, anchored at both ends as Prometheus anchors it. */
export function regexOf(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (error) {
    throw new Error(`"${source}" is not a regular expression: ${(error as Error).message}`);
  }
}

/** Whether `labels` meet every matcher; a label an alert lacks has the empty value (as in Prometheus). */
export function matchesAll(labels: Readonly<Record<string, string>>, matchers: readonly LabelMatcher[]): boolean {
  return matchers.every((m) => {
    const value = Object.hasOwn(labels, m.name) ? labels[m.name]! : '';
    if (m.op === '=') return value === m.value;
    if (m.op === '!=') return value !== m.value;
    const hit = regexOf(m.value).test(value);
    return m.op === '=~' ? hit : !hit;
  });
}
