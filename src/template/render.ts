import { UsageError } from '../errors.js';

export type TemplateScope = Readonly<Record<string, unknown>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

function lookup(scope: TemplateScope, key: string): unknown {
  let value: unknown = scope;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * Replaces `{{ a.b }}` with values from the scope. A name that is not there
 * is an error naming the file and the variable, never an empty string that
 * would ship a broken config.
 */
export function renderTemplate(text: string, scope: TemplateScope, file: string): string {
  const missing = new Set<string>();
  const out = text.replace(PLACEHOLDER, (_, key: string) => {
    const value = lookup(scope, key);
    if (value === undefined || value === null || typeof value === 'object') {
      missing.add(key);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) {
    const names = [...missing].map((k) => `{{ ${k} }}`).join(', ');
    throw new UsageError(`${file}: unknown template variable${missing.size > 1 ? 's' : ''} ${names}`, {
      hint: 'define it under vars in deploy.config.ts or hosts/<env>.yaml, or list it under secrets',
    });
  }
  return out;
}
