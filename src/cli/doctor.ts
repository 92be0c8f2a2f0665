import { type OptionSet, verb, withEnv } from './options.js';

export const options = {
  json: { type: 'boolean' },
} as const satisfies OptionSet;

export const command = verb({
  command: 'doctor <env>',
  describe:
    'checks before a release, per node: ssh and host keys, deployTo, disk, tools, clock, lock, shared files and ' +
    'links, load balancer',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => doctorCommand(argv),
});

export async function doctorCommand(argv: { env: string; json?: boolean; config?: string }): Promise<void> {
  const { doctor, doctorExit } = await import('../app/doctor.js');
  const rows = await doctor(argv.env, argv.config);
  const blocking = rows.filter((r) => r.blocks);
  if (argv.json) {
    const { doctorJson, printJson } = await import('../app/shapes.js');
    printJson(doctorJson, { env: argv.env, ok: blocking.length === 0, checks: rows });
  } else {
    const { table } = await import('../log/listing.js');
    const cells = rows.map((r) => [r.node, r.check, r.ok ? 'ok' : r.blocks ? 'FAIL' : 'warn', r.detail]);
    process.stdout.write(`${table(cells).join('\n')}\n`);
    process.stdout.write(
      blocking.length
        ? `\n${blocking.length} problem(s) block a release to ${argv.env}\n`
        : `\nnothing blocks a release to ${argv.env}\n`,
    );
  }
  if (blocking.length) process.exitCode = doctorExit(rows);
}
