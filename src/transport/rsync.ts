import type { NodeSpec } from '../inventory/types.js';
import { runLocal, type LocalResult } from './local.js';

export interface RsyncOptions {
  readonly identityFile?: string;
  readonly knownHostsFile: string;
  readonly strictHostKeys: boolean;
  readonly connectTimeoutMs: number;
}

/**
 * Copies a local directory into a new release dir on a node with rsync over
 * ssh. `--link-dest` against the current release hard-links every file whose
 * content is unchanged, so it costs neither bytes on the wire nor disk.
 * `--checksum` because every file of a new commit's export has a new mtime.
 */
export function rsyncRelease(node: NodeSpec, source: string, dest: string, linkDest: string | undefined, o: RsyncOptions): Promise<LocalResult> {
  const ssh = [
    'ssh',
    '-p', String(node.port),
    ...(o.identityFile ? ['-i', o.identityFile] : []),
    '-o', `UserKnownHostsFile=${o.knownHostsFile}`,
    '-o', `StrictHostKeyChecking=${o.strictHostKeys ? 'yes' : 'no'}`,
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${Math.ceil(o.connectTimeoutMs / 1000)}`,
  ];
  // rsync splits -e on spaces itself; every part here is a plain word or a path without spaces.
  const args = ['-rlpD', '--checksum', '--delete', '-e', ssh.join(' '), ...(linkDest ? [`--link-dest=${linkDest}`] : []), `${source.replace(/\/?$/, '/')}`, `${node.user}@${node.address}:${dest.replace(/\/?$/, '/')}`];
  return runLocal('rsync', args, { timeoutMs: 600_000 });
}
