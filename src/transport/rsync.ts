import type { NodeSpec } from '../inventory/types.js';
import { render } from '../remote/command.js';
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
  return runLocal('rsync', rsyncArgs(node, source, dest, linkDest, o), { timeoutMs: 600_000 });
}

/** The rsync command line (no shell: an argv). */
export function rsyncArgs(node: NodeSpec, source: string, dest: string, linkDest: string | undefined, o: RsyncOptions): string[] {
  const ssh = [
    'ssh',
    '-p', String(node.port),
    ...(o.identityFile ? ['-i', o.identityFile] : []),
    // ssh splits this value on spaces (it takes a list of files): the path keeps its own quotes.
    '-o', `UserKnownHostsFile="${o.knownHostsFile}"`,
    '-o', `StrictHostKeyChecking=${o.strictHostKeys ? 'yes' : 'no'}`,
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${Math.ceil(o.connectTimeoutMs / 1000)}`,
  ];
  // rsync splits -e itself and honours shell-style quotes: the one quoting function renders it.
  const args = ['-rlpD', '--checksum', '--delete', '-e', render(ssh), ...(linkDest ? [`--link-dest=${linkDest}`] : []), `${source.replace(/\/?$/, '/')}`, `${node.user}@${node.address}:${dest.replace(/\/?$/, '/')}`];
  return args;
}
