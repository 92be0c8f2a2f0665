import fs from 'node:fs';
import path from 'node:path';
import type { Reporter, RunEvent } from './events.js';
import type { Redactor } from './redact.js';

/** Log levels as numbers, the scale JSON-lines log tools read (30 info, 40 warn, 50 error). */
const LEVEL = { info: 30, warn: 40, error: 50 } as const;

/**
 * The JSON-lines log of one run under `.relink/logs/<run id>.jsonl`: every
 * event with run id, env, node, step and duration, one line each, written
 * synchronously (every line is in the file when the event returns). Lines are
 * redacted as they are written, so no secret reaches the file.
 */
export async function openRunLog(
  dir: string,
  runId: string,
  env: string,
  redactor: Redactor,
): Promise<{ reporter: Reporter; file: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${runId}.jsonl`);
  let fd: number | undefined = fs.openSync(file, 'a');
  const write = (level: number, fields: object, msg?: string) => {
    if (fd === undefined) return;
    const line = { level, time: new Date().toISOString(), run: runId, env, ...fields, ...(msg ? { msg } : {}) };
    fs.writeSync(fd, redactor.apply(`${JSON.stringify(line)}\n`));
  };
  const reporter: Reporter = {
    emit(event: RunEvent) {
      // Upload progress is for the live view: the log keeps the step's start and end.
      if (event.type === 'progress') return;
      const { type, ...fields } = event;
      if (type === 'warn') write(LEVEL.warn, fields, event.message);
      else if (type === 'step' && event.status === 'fail') write(LEVEL.error, fields, `${event.step} failed`);
      else write(LEVEL.info, { kind: type, ...fields });
    },
    close() {
      // No fsync (it cost ~20 ms per run).
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
  return { reporter, file };
}
