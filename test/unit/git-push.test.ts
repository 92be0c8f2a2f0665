import { describe, expect, it } from 'vitest';
import { pushVerdict } from '../../src/transport/git-push.js';

const failed = (stdout: string, stderr = '') => pushVerdict({ code: 1, stdout, stderr });

describe('pushVerdict: what a push of the poison records answered', () => {
  it('is done on exit 0', () => {
    expect(pushVerdict({ code: 0, stdout: '', stderr: '' })).toBe('ok');
  });

  it('is beaten by another writer when the ref moved: fetch and try again', () => {
    expect(failed('!\trefs/relink/poison:refs/relink/poison\t[rejected] (fetch first)\nDone')).toBe('rejected');
    expect(failed('', ' ! [rejected]        x -> refs/relink/poison (non-fast-forward)')).toBe('rejected');
  });

  it('is beaten too when the remote was updating the ref at the same moment and could not lock it', () => {
    const lock =
      "!\tabc:refs/relink/poison\t[remote rejected] (cannot lock ref 'refs/relink/poison': is at 1a2b but expected 3c4d)";
    expect(failed(lock)).toBe('rejected');
    expect(failed('!\tabc:refs/relink/poison\t[remote rejected] (failed to update ref)')).toBe('rejected');
  });

  it('is an error otherwise, its last line kept', () => {
    expect(failed('', 'fatal: could not read from remote repository\n')).toEqual({
      error: 'fatal: could not read from remote repository',
    });
    expect(failed('!\tabc:refs/relink/poison\t[remote rejected] (pre-receive hook declined)')).toEqual({
      error: '!\tabc:refs/relink/poison\t[remote rejected] (pre-receive hook declined)',
    });
  });
});
