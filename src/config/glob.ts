// Globs of `release.exclude` and `release.include`, matched against paths relative to the release root.
// The project's runtime dependencies hold no glob matcher and Node's own (`path.matchesGlob`) is still
// experimental, so the few rules the release filter needs are written here, each one tested.

/**
 * A glob as a RegExp over a whole relative path (`/` between parts). `*` is any run of characters within
 * one part, names starting with `.` included; `?` one such character; `[abc]`, `[a-z]` and `[!abc]` one
 * character of (or not of) a set; `**` as a whole part any number of parts, none included; a trailing `/`
 * is dropped (the caller matches directories only then). Everything else stands for itself. Throws on a
 * pattern it cannot read (an unclosed `[`, an empty one, `..` or an absolute path).
 */
export function globRegExp(glob: string): RegExp {
  const pattern = glob.replace(/\/$/, '');
  if (!pattern) throw new Error(`an empty glob: ${JSON.stringify(glob)}`);
  if (pattern.startsWith('/')) throw new Error(`a glob relative to the release, not absolute: ${glob}`);
  const parts = pattern.split('/');
  if (parts.includes('..') || parts.includes('')) throw new Error(`a glob without ".." or "//" parts: ${glob}`);
  let source = '';
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === '**') source += last ? '.*' : '(?:[^/]+/)*';
    else source += partSource(part, glob) + (last ? '' : '/');
  });
  return new RegExp(`^${source}$`);
}

function partSource(part: string, glob: string): string {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end === -1) throw new Error(`an unclosed "[" in the glob ${glob}`);
      let set = part.slice(i + 1, end);
      const negated = set.startsWith('!');
      if (negated) set = set.slice(1);
      if (!set) throw new Error(`an empty "[]" in the glob ${glob}`);
      source += `[${negated ? '^/' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return source;
}

/** A compiled list of globs: whether a path (a file, or a directory with `dir`) matches one of them. */
export function globMatcher(globs: readonly string[]): (path: string, dir: boolean) => boolean {
  const compiled = globs.map((glob) => ({ re: globRegExp(glob), dirOnly: glob.endsWith('/') }));
  return (path, dir) => compiled.some((g) => (dir || !g.dirOnly) && g.re.test(path));
}
