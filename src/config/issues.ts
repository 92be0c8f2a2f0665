// Zod's issues, told the way a person reads a config or YAML file.
import type { z } from 'zod';

/** `hosts[2].port`, the way a person reads a path into a YAML or config file. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}

/** One line per problem: `<file>: <path>: <what is wrong>`. */
export function formatIssues(file: string, error: z.ZodError): string[] {
  return error.issues.flatMap(unionOf).map((issue) => `${file}: ${formatPath(issue.path)}: ${describeIssue(issue)}`);
}

type Issue = z.core.$ZodIssue;

/**
 * A value that fits none of a union's forms: the problems of the one form of its type (an object written for a
 * list-or-object field is told what is wrong with the object), else the forms it may take.
 */
function unionOf(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || !issue.errors.length) return [issue];
  const wrongType = (issues: readonly Issue[]) =>
    issues.length === 1 && issues[0]!.code === 'invalid_type' && issues[0]!.path.length === 0;
  const typed = issue.errors.filter((issues) => !wrongType(issues));
  if (typed.length === 1) return typed[0]!.flatMap((i) => unionOf({ ...i, path: [...issue.path, ...i.path] } as Issue));
  if (typed.length > 0) return [issue];
  const forms = issue.errors.map((issues) => article((issues[0] as z.core.$ZodIssueInvalidType).expected));
  return [{ ...issue, message: `expected ${forms.join(' or ')}` }];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `required (${article(issue.expected)})`;
    return `expected ${article(issue.expected)}, got ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  if (issue.code === 'invalid_key') return issue.issues.map(describeIssue).join('; ');
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return issue.message.replace(/^Invalid string: /, 'expected ');
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
