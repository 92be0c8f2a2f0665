// Whether a delta tar is worth gzip. Releases often hold mostly compressed bytes (images, fonts, archives,
// pre-compressed bundles); gzip at level 1 spends ~30 ms of CPU per MB on them and saves nothing, while text
// (code, maps, HTML) shrinks 3-5x. The largest files decide, from a sample of each; the files not sampled are
// taken for text. A small delta is always compressed: it costs little either way.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** What is read of each sampled file (from its start). */
const SAMPLE_BYTES = 64 * 1024;
/** How many of the largest files are sampled. */
const SAMPLED = 16;
/** Below this many bytes to send, always compress. */
const SMALL_BYTES = 1024 * 1024;
/** The share of the bytes compression must save to be worth its CPU. */
const WORTH = 0.1;
/** What the files not sampled are taken to save (text, at level 1). */
const UNSAMPLED_SAVES = 0.5;

/** The share of a file's first bytes that gzip level 1 saves (0: none, or an unreadable file). */
function savedShare(file: string, size: number): number {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const sample = Buffer.alloc(Math.min(SAMPLE_BYTES, size));
    const read = fs.readSync(fd, sample, 0, sample.length, 0);
    if (read === 0) return 0;
    return Math.max(0, 1 - zlib.deflateRawSync(sample.subarray(0, read), { level: 1 }).length / read);
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Whether gzip saves enough of `files` (paths under `root`, with their sizes) to be worth its CPU. */
export function worthCompressing(root: string, files: readonly { path: string; size?: number }[]): boolean {
  const sized = files.map((f) => ({ path: f.path, size: f.size ?? 0 }));
  const total = sized.reduce((sum, f) => sum + f.size, 0);
  if (total < SMALL_BYTES) return true;
  const largest = [...sized].sort((a, b) => b.size - a.size).slice(0, SAMPLED);
  let saved = 0;
  let sampled = 0;
  for (const f of largest) {
    saved += f.size * savedShare(path.join(root, f.path), f.size);
    sampled += f.size;
  }
  saved += (total - sampled) * UNSAMPLED_SAVES;
  return saved >= total * WORTH;
}
