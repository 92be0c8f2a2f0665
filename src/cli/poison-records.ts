// What the verbs poison, cure, check and impact share at the door: the operations of the release gate
// (src/app/poison.ts) on the project's repository, their warnings written to stderr.
import type { GitRecords } from '../app/repo.js';

const warn = (message: string) => void process.stderr.write(`warning: ${message}\n`);

/** The gate's operations and the repository's mirror, fetched (or, offline, as fetched last). */
export async function openGate(configPath?: string) {
  const gate = await import('../app/poison.js');
  const repo = await gate.openRepo(configPath, warn);
  return { ...gate, ...repo, records: (git: GitRecords = repo.git) => gate.poisonRecords(git, warn) };
}
