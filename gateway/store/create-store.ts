import { existsSync } from 'node:fs';
import path from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { createPgExecutor } from './pg-executor.ts';
import { SqlStore } from './sql-store.ts';
import type { Store } from './store.ts';
import { storeKind } from './store-location.ts';
import { createWorkerStore } from './worker-store.ts';

/** How a caller opens the store; read-only tools must not create an empty store by mistake. */
export interface CreateStoreOptions {
  /** Refuse to initialise a new embedded store (read-only tools such as `gatehouse audit`). */
  mustExist?: boolean;
  /**
   * How long to wait for an embedded store that another process holds (a short CLI command such as
   * `gatehouse dev-token` started just before `serve`); 0, the default, refuses at once.
   */
  lockWaitMs?: number;
}

/**
 * Opens the store named by gatehouse.yaml's `store:` and brings its schema up to date:
 * a `postgres://` URL selects PostgreSQL (replicas sharing state), `memory://` an in-memory
 * PGlite (demo, tests), anything else is the data directory of an embedded PGlite. Embedded
 * stores run in a worker thread (see `worker-store.ts`).
 *
 * Durability trade-off an operator may choose in the URL, not made by default: with
 * `?options=-c%20synchronous_commit%3Doff` the store's sessions stop waiting for the WAL flush
 * at commit (measured here: 1.27 -> 0.20 ms per commit, pgbench through the gateway about +30%).
 * A statement's audit event is then still committed, visible to every reader and safe from a
 * gateway crash before the statement is forwarded, but a crash of the store server itself can
 * lose the last ~3 x wal_writer_delay (600 ms by default) of acknowledged events.
 */
export async function createStore(location: string, options: CreateStoreOptions = {}): Promise<Store> {
  if (
    options.mustExist &&
    storeKind(location) === 'directory' &&
    !existsSync(path.join(path.resolve(location), 'PG_VERSION'))
  ) {
    throw new GatehouseError(
      'store.missing',
      `there is no gatehouse store in ${location}; check --store or the \`store:\` of --config`,
    );
  }
  const store = await openWaitingForLock(location, options.lockWaitMs ?? 0);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw new GatehouseError(
      'store.unavailable',
      `cannot prepare the store at ${describeLocation(location)}: ${(error as Error).message}; check that it is reachable and writable`,
      { cause: error },
    );
  }
  return store;
}

async function openWaitingForLock(location: string, waitMs: number): Promise<Store> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await openStore(location);
    } catch (error) {
      const locked = error instanceof GatehouseError && error.code === 'store.locked';
      if (!locked || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function openStore(location: string): Promise<Store> {
  if (!location) {
    throw new GatehouseError(
      'store.location',
      'no store location given; set `store:` in gatehouse.yaml to a directory or a postgres:// URL',
    );
  }
  try {
    const kind = storeKind(location);
    if (kind === 'postgres') return new SqlStore(createPgExecutor(location));
    return await createWorkerStore(kind === 'memory' ? location : path.resolve(location));
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    throw new GatehouseError(
      'store.unavailable',
      `cannot open the store at ${describeLocation(location)}: ${(error as Error).message}; check the path or URL in \`store:\``,
      { cause: error },
    );
  }
}

/** The location without a password, for messages. */
export function describeLocation(location: string): string {
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    return url.protocol.startsWith('postgres') ? url.toString() : location;
  } catch {
    return location;
  }
}
