#!/usr/bin/env node
import { main } from '../cli/main.js';

// `rollback prod --last` is `deploy rollback prod --last`.
await main(['rollback', ...process.argv.slice(2)]);
