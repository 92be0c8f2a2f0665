// An environment opened to be read (or frozen): its run wiring and what its nodes say now. Every
// read-only verb and the dashboard's freeze, unfreeze and rollback preview start here.
import { type OpenRun, openRun } from './compose.js';
import { type Observation, observe } from './observe.js';

export type { Observation };

export interface Observed {
  readonly run: OpenRun;
  readonly seen: Observation;
  close(): Promise<void>;
}

export interface ObserveOptions {
  readonly env: string;
  readonly config?: string;
  /** The command line the journal records (a freeze) or the run is named by. */
  readonly command: string;
  readonly author?: string;
  /** Only these nodes. */
  readonly nodes?: readonly string[];
  /** Read each node's state (releases, journal, lock); false: connect only. */
  readonly inspect?: boolean;
}

export async function observeEnv(o: ObserveOptions): Promise<Observed> {
  const run = await openRun({
    env: o.env,
    config: o.config,
    author: o.author,
    command: o.command,
    quiet: true,
    runLog: false,
  });
  try {
    const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps, o.nodes, o.inspect ?? true);
    const named = { ...seen, ctx: { ...seen.ctx, command: o.command } };
    return {
      run,
      seen: named,
      async close() {
        await seen.close();
        await run.close();
      },
    };
  } catch (error) {
    await run.close();
    throw error;
  }
}

/** Runs `work` on an observed environment and closes it after. */
export async function withObserved<T>(o: ObserveOptions, work: (observed: Observed) => Promise<T>): Promise<T> {
  const observed = await observeEnv(o);
  try {
    return await work(observed);
  } finally {
    await observed.close();
  }
}
