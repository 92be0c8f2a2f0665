import type { NotifyEvent } from '../config/names.js';

/** What happened, for every channel: a one-line title and a short text. */
export interface Notice {
  readonly event: NotifyEvent;
  readonly title: string;
  readonly text: string;
  readonly env: string;
  readonly runId: string;
  readonly version?: string;
  readonly release?: string;
  readonly user: string;
  readonly result?: string;
}
