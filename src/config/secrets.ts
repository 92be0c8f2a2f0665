import fs from 'node:fs';
import type { ResolvedConfig } from './types.js';
import { UsageError } from '../errors.js';
import type { Redactor } from '../log/redact.js';

/** Parses `NAME=value` lines (dotenv style, optional quotes, # comments). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const eq = line.indexOf('=');
    if (!line || line.startsWith('#') || eq < 1) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out[
      line
        .slice(0, eq)
        .replace(/^export\s+/, '')
        .trim()
    ] = value;
  }
  return out;
}

/**
 * Reads every secret the config names from the environment, then the
 * secrets file, registers each value with the redactor, and refuses to go on
 * when one is missing: before anything touches a node.
 */
/**
 * Teaches the redactor every configured secret that is set, without
 * requiring any: a rollback or a status loads no secrets, yet a restart's
 * output that quotes one must still be redacted.
 */
export function learnSecrets(config: ResolvedConfig, env: NodeJS.ProcessEnv, redactor: Redactor): void {
  const file =
    config.secretsFile && fs.existsSync(config.secretsFile) ? fs.readFileSync(config.secretsFile, 'utf8') : '';
  const fromFile = file ? parseDotenv(file) : {};
  for (const name of config.secrets) redactor.add(env[name] ?? fromFile[name]);
}

export function loadSecrets(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  redactor: Redactor,
): Record<string, string> {
  const fromFile =
    config.secretsFile && fs.existsSync(config.secretsFile)
      ? parseDotenv(fs.readFileSync(config.secretsFile, 'utf8'))
      : {};
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of config.secrets) {
    const value = env[name] ?? fromFile[name];
    if (value === undefined || value === '') missing.push(name);
    else {
      values[name] = value;
      redactor.add(value);
    }
  }
  if (missing.length) {
    const orFile = config.secretsFile
      ? ` or put it in ${config.secretsFile}`
      : ' (or set secretsFile in deploy.config.ts)';
    throw new UsageError(`secret${missing.length > 1 ? 's' : ''} not set: ${missing.join(', ')}`, {
      hint: `export ${missing[0]}=...${orFile}`,
    });
  }
  return values;
}
