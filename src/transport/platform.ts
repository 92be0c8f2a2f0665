import { UsageError } from '../errors.js';
import { isPlatform } from '../remote/platform.js';

/** The variable that stands in for the deploy machine's platform (tests; a build machine that knows better). */
export const PLATFORM_OVERRIDE = 'RELINK_BUILD_PLATFORM';

/**
 * The deploy machine's platform word (see remote/platform.ts): Node's process.platform and process.arch,
 * and on Linux the libc, glibc's version from the process report (what `getconf GNU_LIBC_VERSION` says)
 * or else musl. RELINK_BUILD_PLATFORM, when set, is taken instead: a testing and override knob.
 */
export function localPlatform(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[PLATFORM_OVERRIDE];
  if (override) {
    if (!isPlatform(override))
      throw new UsageError(`${PLATFORM_OVERRIDE}=${JSON.stringify(override)} is not a platform word`, {
        hint: `set it to os-arch or os-arch-libc, e.g. linux-x64-glibc2.36, or unset ${PLATFORM_OVERRIDE}`,
      });
    return override;
  }
  const arch = process.arch;
  if (process.platform !== 'linux') return `${process.platform}-${arch}`;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const glibc = report?.header?.glibcVersionRuntime;
  return glibc && /^\d+\.\d+$/.test(glibc) ? `linux-${arch}-glibc${glibc}` : `linux-${arch}-musl`;
}
