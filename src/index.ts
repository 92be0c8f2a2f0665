export { defineConfig } from './config/define.js';
export type * from './config/types.js';
export type { Inventory, NodeSpec } from './inventory/types.js';
