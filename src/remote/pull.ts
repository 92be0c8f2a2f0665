import path from 'node:path/posix';
import { and, op, type Command } from './tokens.js';

/**
 * On a node: fetches the release tarball from the artifact store into
 * `file`, with curl, or wget where there is no curl. Both verify TLS
 * certificates (no -k, no --no-check-certificate); only http and https are
 * followed, redirects included. The caller checks the sha256 before
 * anything is unpacked.
 */
export function fetchArtifact(url: string, file: string, timeoutMs: number): Command {
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new Error(`not an http(s) URL: ${JSON.stringify(url.slice(0, 200))}`);
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const curl: Command = [
    'curl',
    '-fsSL',
    '--proto',
    '=http,https',
    '--proto-redir',
    '=http,https',
    '--retry',
    '2',
    '--max-time',
    seconds,
    '-o',
    file,
    url,
  ];
  const wget: Command = ['wget', '-nv', '-t', '3', '-T', seconds, '-O', file, url];
  const has = (tool: string): Command => ['command', '-v', tool, op('>/dev/null'), op('2>&1')];
  return and(
    ['mkdir', '-p', path.dirname(file)],
    [
      op('if'),
      ...has('curl'),
      op('; then'),
      ...curl,
      op('; elif'),
      ...has('wget'),
      op('; then'),
      ...wget,
      op('; else'),
      'echo',
      'neither curl nor wget is installed on this node',
      op('>&2;'),
      'exit',
      '127',
      op('; fi'),
    ],
  );
}
