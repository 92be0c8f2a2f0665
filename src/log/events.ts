/** Everything a run reports while it works; the console and the run log both consume these. */
export type RunEvent =
  | {
      readonly type: 'run';
      readonly runId: string;
      readonly env: string;
      readonly command: string;
      readonly detail: string;
    }
  | { readonly type: 'phase'; readonly phase: string }
  | {
      readonly type: 'step';
      readonly step: string;
      readonly node?: string;
      readonly status: 'start' | 'ok' | 'fail' | 'skip';
      readonly ms?: number;
      readonly detail?: string;
    }
  /** How far a running step's transfer is (an upload): for the live view only, neither logged nor reported. */
  | {
      readonly type: 'progress';
      readonly step: string;
      readonly node: string;
      readonly bytes: number;
      /** 0-100, when the sender knows the whole. */
      readonly percent?: number;
    }
  | { readonly type: 'info' | 'warn'; readonly message: string; readonly node?: string };

export interface Reporter {
  emit(event: RunEvent): void;
  close(): void;
}
