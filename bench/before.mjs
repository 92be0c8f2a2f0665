// relink as it was at an earlier revision, for the benchmarks' "before" columns: exported from this
// repository's history into `dir`, with its own dependencies and its own build.
import { $, fs } from 'zx';

export async function buildBefore(root, revision, dir) {
  await fs.mkdirp(dir);
  // The revision comes from the command line: passed as an argument, never as shell text or an option.
  await $({ cwd: root })`sh -c ${'git archive --end-of-options "$1" | tar -x -C "$2"'} sh ${revision} ${dir}`;
  await $({ cwd: dir })`npm ci --no-audit --no-fund --silent`;
  await $({ cwd: dir })`npm run build --silent`;
}
