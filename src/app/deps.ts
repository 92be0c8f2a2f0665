// RunDeps, built in one place: what a run gets from outside (its transport, http probes, the clock,
// its reporter and redactor, the abort signal). The doors never build it; openRun and readEnv call this.
// Also who is deploying.
import os from 'node:os';
import type { Reporter } from '../log/events.js';
import type { Redactor } from '../log/redact.js';
import type { RunDeps } from '../pipeline/context.js';
import { httpGet } from '../transport/http.js';
import { runLocal } from '../transport/local.js';
import { type AlertsQuery, firingAlerts } from '../transport/alerts.js';
import { instantQuery, type PrometheusQuery } from '../transport/prometheus.js';
import type { Transport } from '../transport/types.js';
import { phrase } from './phrase.js';

export function runDeps(parts: {
  readonly transport: Transport;
  readonly reporter: Reporter;
  readonly redactor: Redactor;
  readonly signal?: AbortSignal;
}): RunDeps {
  return {
    transport: parts.transport,
    probe: httpGet,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    reporter: parts.reporter,
    redactor: parts.redactor,
    phrase,
    signal: parts.signal,
    prometheus: prometheusFrom(parts.redactor),
    alerts: alertsFrom(parts.redactor),
  };
}

/** Prometheus' instant queries, the bearer token read from its environment variable here (and redacted). */
export function prometheusFrom(redactor: Redactor): PrometheusQuery {
  return (server, promql, deadline) => {
    const token = server.tokenEnv ? process.env[server.tokenEnv] : undefined;
    if (server.tokenEnv && !token) throw new Error(`${server.tokenEnv} is not set (the token for Prometheus)`);
    redactor.add(token);
    return instantQuery({ url: server.url, token }, promql, deadline);
  };
}

/** The firing alerts of Alertmanager or Prometheus, the bearer token read from its environment variable here. */
export function alertsFrom(redactor: Redactor): AlertsQuery {
  return (source, matchers, deadline) => {
    const token = source.tokenEnv ? process.env[source.tokenEnv] : undefined;
    if (source.tokenEnv && !token) throw new Error(`${source.tokenEnv} is not set (the token for ${source.source})`);
    redactor.add(token);
    return firingAlerts({ source: source.source, url: source.url, token }, matchers, deadline);
  };
}

/** Who is deploying: --author, else git's user.name on this machine, else the login name. */
export async function whoAmI(explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const git = await runLocal('git', ['config', 'user.name']);
  return git.stdout.trim() || os.userInfo().username;
}

/** A reporter that prints nothing (read-only operations). */
export const silent: Reporter = { emit: () => undefined, close: () => undefined };
