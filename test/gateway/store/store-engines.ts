import { rmSync } from 'node:fs';
import { createPgExecutor } from '../../../gateway/store/pg-executor.ts';
import { createPgliteExecutor } from '../../../gateway/store/pglite-executor.ts';
import type { SqlExecutor } from '../../../gateway/store/sql-executor.ts';
import { SqlStore } from '../../../gateway/store/sql-store.ts';
import { createTestDatabase, usingRealServer } from '../../support/pg-target.ts';
import { freshPgliteDir } from './pglite-template.ts';

/** A migrated store on one engine, with its raw SQL executor so tests can tamper behind its back. */
export interface EngineStore {
  store: SqlStore;
  sql: SqlExecutor;
  /** Where `createStore` would reopen the same data (directory or URL). */
  location: string;
  drop(): Promise<void>;
}

export interface Engine {
  name: 'pglite' | 'postgres';
  open(): Promise<EngineStore>;
}

async function ready(sql: SqlExecutor, location: string, cleanup: () => Promise<void>): Promise<EngineStore> {
  const store = new SqlStore(sql);
  await store.migrate();
  return {
    store,
    sql,
    location,
    async drop() {
      await store.close().catch(() => {});
      await cleanup();
    },
  };
}

/**
 * Both store engines; each `open()` gives a fresh, migrated, empty store. The PostgreSQL engine
 * needs the real server (CI always has it); without one only the embedded engine runs.
 */
export const ENGINES: Engine[] = [
  {
    name: 'pglite',
    async open() {
      const dir = await freshPgliteDir();
      return ready(await createPgliteExecutor(dir, { pollMs: 50 }), dir, async () =>
        rmSync(dir, { recursive: true, force: true }),
      );
    },
  },
  {
    name: 'postgres',
    async open() {
      const db = await createTestDatabase('');
      return ready(createPgExecutor(db.url, { max: 4 }), db.url, () => db.drop());
    },
  },
].filter((engine) => engine.name === 'pglite' || usingRealServer()) as Engine[];
