import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { requireCjs } from '../cjs.js';
import type { Reporter, RunEvent } from './events.js';
import type { Redactor } from './redact.js';

/**
 * The JSON-lines log of one run under `.relink/logs/<run id>.jsonl`: every
 * event with run id, env, node, step and duration. Lines are redacted as
 * they are written, so no secret reaches the file.
 */
export async function openRunLog(
  dir: string,
  runId: string,
  env: string,
  redactor: Redactor,
): Promise<{ reporter: Reporter; file: string }> {
  const { pino } = requireCjs('pino') as typeof import('pino');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${runId}.jsonl`);
  const destination = pino.destination({ dest: file, sync: true, mkdir: true });
  const logger: Logger = pino(
    {
      base: { run: runId, env },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: (line) => redactor.apply(line) },
    },
    destination,
  );
  const reporter: Reporter = {
    emit(event: RunEvent) {
      // Upload progress is for the live view: the log keeps the step's start and end.
      if (event.type === 'progress') return;
      const { type, ...fields } = event;
      if (type === 'warn') logger.warn(fields, event.message);
      else if (type === 'step' && event.status === 'fail') logger.error(fields, `${event.step} failed`);
      else logger.info({ kind: type, ...fields });
    },
    close() {
      // Writes are synchronous: every line is in the file already. No fsync (it cost ~20 ms per run).
      destination.end();
    },
  };
  return { reporter, file };
}
