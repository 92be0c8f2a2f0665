// The settings of the steps a deploy runs (build, templates, restart, smoke): part of deploy.config.ts's
// types (types.ts), with the same documentation as their schema.

export interface BuildSettings {
  /** Shell command run in the clean export, e.g. `npm ci && npm run build`. Default: none. */
  command?: string;
  /** Directory of the export that is packed, relative to its root. Default: `.` (everything). */
  output?: string;
  /** Extra environment for the build command. Default: none. */
  env?: Record<string, string>;
  /**
   * Variables of the deploy machine's environment passed on to the build, by name. The build gets only
   * these, `env`, RELINK_* and the basics (PATH, HOME, USER, LANG, LC_*, TZ, TMPDIR, TERM, CI, proxies).
   * Default: none.
   */
  passEnv?: string[];
  /** Time limit for the build in ms. Default: 600000. */
  timeoutMs?: number;
}

export interface TemplateSettings {
  /** Template file, relative to the project root (usually under `templates/`). */
  src: string;
  /** Destination inside the release. */
  dest: string;
  /** File mode. Default: 0o600. */
  mode?: number;
}

export interface RestartSettings {
  /** Shell command run in the new release dir on the node, with RELINK_* variables set. */
  command: string;
  /** Time limit in ms; past it the restart counts as failed. Default: 30000. */
  timeoutMs?: number;
}

export interface SmokeSettings {
  /**
   * URL requested from the deploy machine, with template variables
   * (`http://{{ node.address }}:{{ host.appPort }}/health`). Set exactly one of `url` and `command`.
   */
  url?: string;
  /** Expected HTTP status. Default: 200. */
  expectStatus?: number;
  /** Text the response body must contain, with template variables. Default: `{{ version }}`. */
  expectBody?: string;
  /** Alternatively a shell command run on the node in the release dir; exit 0 means healthy. */
  command?: string;
  /** Attempts before the smoke test fails. Default: 20. */
  retries?: number;
  /** Pause between attempts in ms. Default: 250. */
  intervalMs?: number;
  /** Time limit of one attempt in ms. Default: 2000. */
  timeoutMs?: number;
}
