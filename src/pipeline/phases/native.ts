import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { parsePlatform, platformProbe, platformsDiffer } from '../../remote/platform.js';
import { type Artifact, limit, type RunContext, session } from '../context.js';

/** How many native addon paths an artifact keeps (enough to name them in a warning). */
const KEEP = 10;

/**
 * The native code in a release tree: compiled addons (`*.node`), addon sources (`binding.gyp`) and
 * prebuilt binaries (`prebuilds/`), as paths relative to the root; at most KEEP of them.
 */
export function nativeAddons(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (found.length >= KEEP) return;
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (entry.name === 'prebuilds') found.push(`${name}/`);
        else walk(path.join(dir, entry.name), name);
      } else if (entry.isFile() && (entry.name.endsWith('.node') || entry.name === 'binding.gyp')) found.push(name);
    }
  };
  walk(root, '');
  return found;
}

/**
 * When the release holds native addons: reads each node's platform (uname, libc) and warns, naming the
 * nodes, where it differs from the platform the artifact was built on. Changes nothing; a node that does
 * not answer is named in a warning too.
 */
export async function warnNativeMismatch(ctx: RunContext, nodes: readonly NodeSpec[], artifact: Artifact) {
  const native = artifact.native ?? [];
  if (native.length === 0 || !artifact.platform) return;
  const built = artifact.platform;
  const unlike: string[] = [];
  await Promise.all(
    nodes
      .filter((node) => ctx.sessions.has(node.name))
      .map(async (node) => {
        try {
          const result = await session(ctx, node).exec(platformProbe(), limit(ctx, 'probe'));
          const seen = parsePlatform(result.stdout);
          if (!seen) unlike.push(`${node.name} (platform unknown)`);
          else if (platformsDiffer(built, seen.platform)) unlike.push(`${node.name} (${seen.platform})`);
        } catch (error) {
          unlike.push(`${node.name} (platform not read: ${errorMessage(error).split('\n')[0]})`);
        }
      }),
  );
  if (unlike.length === 0) return;
  const more = native.length >= KEEP ? ', ...' : '';
  ctx.deps.reporter.emit({
    type: 'warn',
    message:
      `the release holds native addons (${native.join(', ')}${more}) built on ${built}, unlike ` +
      `${unlike.sort().join(', ')}: they may not load there; build on a node of the environment ` +
      '(build.on in deploy.config.ts, see docs/build.md) or one like it',
  });
}
