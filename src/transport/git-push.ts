// How relink reads the answer of a `git push` (the poison records' writes).
/**
 * What a push's answer means: done, beaten by another writer (fetch and try again: the ref moved, or the
 * remote was updating it at the same moment and could not lock it), or an error to report.
 */
export function pushVerdict(result: {
  code: number;
  stdout: string;
  stderr: string;
}): 'ok' | 'rejected' | { error: string } {
  if (result.code === 0) return 'ok';
  const said = result.stdout + result.stderr;
  if (/\[rejected\]|non-fast-forward|fetch first|stale info/i.test(said)) return 'rejected';
  if (/remote rejected\].*(cannot lock ref|failed to update ref|incorrect old value)/i.test(said)) return 'rejected';
  return { error: (result.stderr.trim() || result.stdout.trim()).split('\n').pop() ?? `exit ${result.code}` };
}
