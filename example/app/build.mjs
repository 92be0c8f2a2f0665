// Build step of the example app: records the version and commit that relink
// passes in, so the running server can report exactly what it is.
import fs from 'node:fs';

const version = process.env.RELINK_VERSION ?? 'dev';
const commit = process.env.RELINK_COMMIT ?? 'unknown';
fs.writeFileSync('version.json', `${JSON.stringify({ version, commit })}\n`);
console.log(`built ${version} (${commit.slice(0, 12)})`);
