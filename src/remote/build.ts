// A build on a node (`build.on: <node>`): the clean export goes into a build dir of its own under
// `<deployTo>/.relink/build/`, outside releases/, the build command runs there with a time limit, the
// output is packed and its sha256 printed; the dir is removed whatever happened.
import path from 'node:path/posix';
import { assertReleaseName, inside, type Layout } from './paths.js';
import { killAfter } from './relink.js';
import { and, group, op, or, secret, type Command } from './tokens.js';

/** The build dir of a run on its build node: `.relink/build/<commit, short>-<run id>`. */
export function buildDir(l: Layout, commit: string, runId: string): string {
  if (!/^[0-9a-f]{7,64}$/.test(commit)) throw new Error(`unsafe commit ${JSON.stringify(commit)}`);
  const name = `${commit.slice(0, 12)}-${runId}`;
  assertReleaseName(name);
  return path.join(l.state, 'build', name);
}

/** Where the export tarball is uploaded, beside the dir it is unpacked into. */
export const exportTarball = (dir: string) => `${dir}.export.tar.gz`;
/** The packed output of the build. */
export const outputTarball = (dir: string) => path.join(dir, 'artifact.tar.gz');

/** Makes the build dir and the dir its upload goes to. */
export function makeBuildDir(dir: string): Command {
  return and(['rm', '-rf', dir, exportTarball(dir)], ['mkdir', '-p', path.join(dir, 'src')]);
}

/** Unpacks the uploaded export into `<dir>/src`, then removes the tarball. */
export function unpackExport(dir: string): Command {
  return and(
    ['tar', '-xzf', exportTarball(dir), '-C', path.join(dir, 'src'), '--no-same-owner'],
    ['rm', '-f', exportTarball(dir)],
  );
}

/**
 * Runs the build command in the export, bounded on the node by `timeout` (it and every process it
 * started). `env` is set in the open; `secretEnv` (the values build.passEnv takes from the deploy
 * machine) go as secret tokens, shown [REDACTED] wherever the command is printed.
 */
export function runBuild(
  dir: string,
  command: string,
  env: Readonly<Record<string, string>>,
  secretEnv: Readonly<Record<string, string>>,
  timeoutMs: number,
): Command {
  const plain = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  const hidden = Object.entries(secretEnv).map(([key, value]) => secret(`${key}=${value}`));
  return and(
    ['cd', path.join(dir, 'src')],
    [op('exec'), ...killAfter(timeoutMs), 'env', ...plain, ...hidden, 'sh', '-c', command],
  );
}

/** Exit status of packBuild when the build left no output dir. */
export const NO_OUTPUT = 3;

/**
 * Packs the build's output dir (build.output, relative to the export) into the output tarball and
 * prints its sha256 and size (`<sha256>  <file>`, then the byte count): what the deploy machine checks
 * the download against.
 */
export function packBuild(dir: string, output: string): Command {
  const src = path.join(dir, 'src');
  const out = output === '.' ? src : inside(src, output);
  const tarball = outputTarball(dir);
  return and(
    group(
      or(
        ['test', '-d', out],
        group(
          and(
            ['echo', `build output ${output} does not exist after the build`, op('>&2')],
            ['exit', String(NO_OUTPUT)],
          ),
        ),
      ),
    ),
    ['tar', '-czf', tarball, '-C', out, '.'],
    ['sha256sum', '--', tarball],
    ['wc', '-c', op('<'), tarball],
  );
}

/** Sends a file of the build dir on stdout (the download of the artifact). */
export function catFile(file: string): Command {
  return ['cat', '--', file];
}

/** Removes the build dir and its upload: on success, failure and interrupt alike. */
export function removeBuildDir(dir: string): Command {
  return ['rm', '-rf', dir, exportTarball(dir)];
}

/** What packBuild printed: the sha256 and the size, or undefined when they are not what it prints. */
export function parsePacked(stdout: string): { sha256: string; bytes: number } | undefined {
  const lines = stdout.trim().split('\n');
  const sha256 = /^([0-9a-f]{64})\s/.exec(lines[0] ?? '')?.[1];
  const bytes = Number((lines[1] ?? '').trim());
  return sha256 && /^\d{1,15}$/.test((lines[1] ?? '').trim()) ? { sha256, bytes } : undefined;
}
