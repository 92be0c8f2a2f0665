import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { type OptionSet, verb } from './options.js';

export const options = {} as const satisfies OptionSet;

export const command = verb({
  command: 'report <run>',
  describe: 'print the Markdown report of a deploy or rollback (a run id, or "last")',
  builder: (y) => y.positional('run', { type: 'string', demandOption: true }).options(options),
  handler: (argv) => reportCommand(argv),
});

export async function reportCommand(argv: { run: string; config?: string }): Promise<void> {
  const { projectRoot } = await import('../app/project.js');
  const dir = path.join(projectRoot(argv.config), '.relink', 'reports');
  const all = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.md'))
        .sort()
    : [];
  const name = argv.run === 'last' ? all.at(-1) : all.find((f) => f === `${argv.run}.md`);
  if (!name || !/^[\w.-]+$/.test(argv.run)) {
    throw new UsageError(`no report for run "${argv.run}" in ${dir}`, {
      hint: all.length
        ? `latest: deploy report ${all.at(-1)!.replace(/\.md$/, '')}`
        : 'reports are written by deploy and rollback on this machine',
    });
  }
  process.stdout.write(fs.readFileSync(path.join(dir, name), 'utf8'));
}
