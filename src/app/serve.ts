// What the dashboard's door needs besides the operations: its socket (the one place that opens it is
// transport/web-server.ts) and whether the process of a run started on this machine is alive.
export { alive } from '../gates/lock.js';
export { type ConnInfo, listen, type WebServer } from '../transport/web-server.js';
