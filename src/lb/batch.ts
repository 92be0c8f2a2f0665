/**
 * Coalesces the commands a rollout gives its load balancer at the same moment (every node of a group is
 * drained, put back, vouched for together) into one request: `send` gets them all, in the order they came,
 * and answers each one. The batch goes out once the current burst of calls is over (the next turn of the
 * event loop), so a lone call waits no longer than that.
 */
export class Batcher<C, A> {
  private queued: { command: C; resolve: (answer: A) => void; reject: (error: unknown) => void }[] = [];

  constructor(private readonly send: (commands: readonly C[]) => Promise<readonly A[]>) {}

  add(command: C): Promise<A> {
    return new Promise<A>((resolve, reject) => {
      this.queued.push({ command, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    try {
      const answers = await this.send(batch.map((b) => b.command));
      for (const [i, b] of batch.entries()) b.resolve(answers[i]!);
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
  }
}

/**
 * Splits the answer of several HAProxy runtime API commands sent as one line (`a;b;c`) into each command's
 * own answer: HAProxy ends every answer with an empty line, so a command that succeeded silently answers
 * just that. An answer that is missing (the connection closed early) comes back undefined.
 */
export function splitAnswers(text: string, count: number): (string | undefined)[] {
  const answers: (string | undefined)[] = [];
  let lines: string[] = [];
  const all = text === '' ? [] : text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined);
  for (const line of all) {
    if (line !== '') {
      lines.push(line);
      continue;
    }
    answers.push(lines.join('\n'));
    lines = [];
  }
  if (lines.length) answers.push(lines.join('\n'));
  return Array.from({ length: count }, (_, i) => answers[i]);
}
