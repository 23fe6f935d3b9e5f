import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.ts';

/** The lock file an embedded store keeps in its data directory while it is open. */
export const LOCK_FILE = 'gatehouse.lock' as const;

/**
 * PGlite does not lock its data directory, and two processes writing one directory corrupt it
 * (e.g. `gatehouse audit show` against a running gateway's `./.gatehouse`). This lock refuses a
 * second opener while the first one's process lives, and lets a restart take over after a crash.
 */
export function lockDataDir(dataDir: string, inUse: (holder: number) => string = storeInUse(dataDir)): () => void {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let held = true;
      return () => {
        if (held) rmSync(file, { force: true });
        held = false;
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new GatehouseError('store.locked', inUse(holder));
      }
      rmSync(file, { force: true });
    }
  }
  throw new GatehouseError(
    'store.locked',
    `cannot lock the store directory ${dataDir}; remove ${file} if no gateway is running`,
  );
}

/** The live process holding an embedded store's lock, or null (no lock, or its holder died). */
export function lockHolder(dataDir: string): number | null {
  let holder: number;
  try {
    holder = Number.parseInt(readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'), 10);
  } catch {
    return null;
  }
  return Number.isInteger(holder) && holder > 0 && isAlive(holder) ? holder : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function storeInUse(dataDir: string): (holder: number) => string {
  return (holder) =>
    `the store directory ${dataDir} is in use by process ${holder}${holder === process.pid ? ' (this process)' : ''}; commands that act on a live gateway (approvals, dev-token) ask it over its operator API; for the others stop that gateway first, or use a postgres:// store to share state between processes`;
}
