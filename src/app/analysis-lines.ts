// An analysis query's verdict in one line, for the doors (`deploy analyze`).
export { verdictLine } from '../gates/analysis.js';
