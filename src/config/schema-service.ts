// The `service` setting (schema.ts): the process manager a node already has runs the app, so it is
// started again after the node reboots. The unit file and the manager's commands: src/remote/service*.ts.
import { z } from 'zod';
import { SERVICE_MANAGERS } from './names.js';
import { doc, envVar } from './schema-parts.js';
import { ms } from './schema-settings.js';

/** One line of text: it becomes a line of a unit file or a crontab. */
const line = z.string().refine((s) => !/[\n\r\0]/.test(s), 'one line: no line breaks');

export const serviceSchema = z.strictObject({
  manager: doc(
    z.enum(SERVICE_MANAGERS).default('systemd'),
    '`systemd`: relink writes a unit and drives it with `systemctl`. `start-stop-daemon`, for nodes without ' +
      "systemd: dpkg's start-stop-daemon with a pid file under `<deployTo>/.relink`, and an `@reboot` line " +
      "in the node user's crontab that starts the app when the node boots (docs/service.md).",
    'start-stop-daemon',
  ),
  unit: doc(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit')
      .max(200)
      .refine((s) => !s.endsWith('.service'), 'the name without ".service"'),
    'Name of the service on the node: the systemd unit `<unit>.service`, or the name of the pid file and ' +
      'crontab line of the fallback. One per app and node.',
    'shop',
  ),
  user: doc(
    z.boolean().default(true),
    "systemd: a user unit (`~/.config/systemd/user`, `systemctl --user`) of the node's SSH user, which needs " +
      'lingering (`deploy doctor` checks it); false: a system unit in /etc/systemd/system, which needs the ' +
      'SSH user to be root. The fallback always runs the app as the SSH user.',
    false,
  ),
  start: doc(
    line.pipe(z.string().min(1)),
    'Shell command (one line) that runs the app in the foreground, run by `sh -c` in `<deployTo>/current`. ' +
      'End it in the app itself (`exec node server.js`, or a single command): stop signals that process.',
    'exec node server.js',
  ),
  env: doc(
    z.record(envVar, line).default({}),
    "Environment of the app (besides the manager's own). Secrets belong in a template file the start " +
      'command reads, not here.',
    { NODE_ENV: 'production' },
  ),
  timeoutMs: ms(30_000, 'Time limit in ms of each restart, stop or status through the manager.', 60000),
  stopTimeoutMs: ms(10_000, 'How long the app has to exit after SIGTERM before it gets SIGKILL, in ms.', 20000),
});
