import path from 'node:path';

/** Which engine a `store:` location names; decided here once so opening, checking and config resolution agree. */
export function storeKind(location: string): 'postgres' | 'memory' | 'directory' {
  if (/^postgres(ql)?:\/\//i.test(location)) return 'postgres';
  return location.startsWith('memory://') ? 'memory' : 'directory';
}

/** A `store:` location as written in a config file: a data directory is relative to `baseDir`, URLs stay as they are. */
export function resolveStoreLocation(location: string, baseDir: string): string {
  return storeKind(location) === 'directory' ? path.resolve(baseDir, location) : location;
}
