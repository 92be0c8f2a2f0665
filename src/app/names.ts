// Names the doors offer as choices, derived from the one list each is written in (config/names.ts).
// Small on purpose: verb modules import it at parse time.
import { LB_DRIVERS, type LbDriverName, SERVICE_MANAGERS } from '../config/names.js';

export { LB_DRIVERS, type LbDriverName };

/** The load balancers `deploy init` can write a config for: every driver but `command` (its commands are yours). */
export type InitLbDriver = Exclude<LbDriverName, 'command'>;
export const INIT_LB_DRIVERS: readonly InitLbDriver[] = LB_DRIVERS.filter((d): d is InitLbDriver => d !== 'command');

/** What `deploy init --service` takes: a process manager of the service setting, or none (a commented example). */
export const INIT_SERVICE_MANAGERS = [...SERVICE_MANAGERS, 'none'] as const;
