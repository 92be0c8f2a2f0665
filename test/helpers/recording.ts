import type { NodeSpec } from '../../src/inventory/types.js';
import { SWITCHED } from '../../src/remote/relink.js';
import { render, type Command } from '../../src/remote/tokens.js';
import type {
  ExecOptions,
  ExecResult,
  NodeSession,
  RemoteStream,
  Transport,
  UploadOptions,
} from '../../src/transport/types.js';

export interface Recorded {
  readonly node: string;
  readonly kind: 'connect' | 'exec' | 'upload' | 'close';
  readonly command: string;
  readonly stdin?: string;
  /** The round trip the command went in: two commands share one when they were sent as one (a relink's restart). */
  readonly trip?: number;
}

/** Where relinkThenRun joins a relink and the command after it. */
const THEN = ` && echo ${SWITCHED} && `;
let trips = 0;

/** Decides what a recorded command returns; undefined means exit 0 with no output. */
export type Responder = (node: string, command: string, options: ExecOptions) => Partial<ExecResult> | undefined;

/**
 * A transport that executes nothing: it records every command per node in
 * order and answers from a responder. The pipeline tests drive the real
 * pipeline through it.
 */
export class RecordingTransport implements Transport {
  readonly log: Recorded[] = [];

  constructor(
    private readonly respond: Responder = () => undefined,
    private readonly refuse: (node: string) => Error | undefined = () => undefined,
  ) {}

  async connect(node: NodeSpec): Promise<NodeSession> {
    const refused = this.refuse(node.name);
    if (refused) throw refused;
    this.log.push({ node: node.name, kind: 'connect', command: '' });
    const log = this.log;
    const respond = this.respond;
    return {
      node,
      async exec(command: Command, options: ExecOptions): Promise<ExecResult> {
        const text = render(command, { redact: true });
        if (!(options.timeoutMs > 0)) throw new Error(`exec without a deadline: ${text}`);
        // A relink and its restart sent as one command (relinkThenRun): recorded and answered as the two
        // commands it holds, with the same round trip number, as the shell would run them.
        const trip = ++trips;
        const parts = text.split(THEN);
        const plain = render(command).split(THEN);
        let out = '';
        for (const [i, part] of parts.entries()) {
          log.push({ node: node.name, kind: 'exec', command: part, stdin: options.stdin, trip });
          const answer = respond(node.name, plain[i]!, options) ?? {};
          const code = answer.code ?? 0;
          out += answer.stdout ?? '';
          if (code !== 0 || i === parts.length - 1) return { code, stdout: out, stderr: answer.stderr ?? '' };
          out += `${SWITCHED}\n`;
          options.onStdout?.(out);
        }
        return { code: 0, stdout: out, stderr: '' };
      },
      async stream(): Promise<RemoteStream> {
        throw new Error('the recording transport does not open streams');
      },
      async upload(localFile: string, remoteFile: string, options: UploadOptions): Promise<void> {
        if (!(options.timeoutMs > 0)) throw new Error(`upload without a deadline: ${remoteFile}`);
        log.push({ node: node.name, kind: 'upload', command: `${localFile} -> ${remoteFile}` });
        const answer = respond(node.name, `upload ${remoteFile}`, options);
        if (answer?.code) throw new Error(answer.stderr ?? 'upload failed');
      },
      async close(): Promise<void> {
        log.push({ node: node.name, kind: 'close', command: '' });
      },
    };
  }

  /** The commands sent to one node, in order. */
  commandsFor(node: string): string[] {
    return this.log.filter((r) => r.node === node && r.kind === 'exec').map((r) => r.command);
  }
}
