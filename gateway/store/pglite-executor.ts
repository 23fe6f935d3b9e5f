import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock.ts';
import type { SqlExecutor, SqlRunner } from './sql-executor.ts';

/** How often the embedded engine looks for decided approvals (there is no second process to NOTIFY). */
export const PGLITE_APPROVAL_POLL_MS = 200;

/**
 * The embedded engine: PGlite on a data directory, nothing to install. One process owns the
 * directory; approval decisions are found by polling a decision sequence.
 */
export async function createPgliteExecutor(dataDir: string, options: { pollMs?: number } = {}): Promise<SqlExecutor> {
  let unlock = (): void => {};
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
  }
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    unlock();
    throw error;
  }
  const pollMs = options.pollMs ?? PGLITE_APPROVAL_POLL_MS;
  const listeners = new Set<(id: string) => void>();
  let timer: NodeJS.Timeout | null = null;
  let cursor: Promise<number> | null = null;

  const runner = (client: PGlite | Transaction): SqlRunner => ({
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await client.query<T>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await client.exec(sql);
    },
  });

  async function poll(): Promise<void> {
    if (!cursor || db.closed) return;
    const after = await cursor;
    const rows = await db.query<{ id: string; decision_seq: string | number }>(
      'SELECT id, decision_seq FROM approvals WHERE decision_seq > $1 ORDER BY decision_seq',
      [after],
    );
    if (rows.rows.length === 0) return;
    cursor = Promise.resolve(Number(rows.rows[rows.rows.length - 1]!.decision_seq));
    for (const row of rows.rows) for (const fn of listeners) fn(row.id);
  }

  function schedule(): void {
    if (timer || listeners.size === 0 || db.closed) return;
    timer = setTimeout(() => {
      timer = null;
      poll()
        .catch(() => {})
        .finally(schedule);
    }, pollMs);
    timer.unref();
  }

  return {
    ...runner(db),
    transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(runner(tx)));
    },
    watchApprovals(fn) {
      listeners.add(fn);
      if (!cursor) {
        cursor = db
          .query<{ max: string | number | null }>('SELECT max(decision_seq) AS max FROM approvals')
          .then((r) => Number(r.rows[0]?.max ?? 0))
          .catch(() => 0);
      }
      schedule();
      return () => {
        listeners.delete(fn);
        if (listeners.size > 0) return;
        cursor = null;
        if (timer) clearTimeout(timer);
        timer = null;
      };
    },
    async close() {
      listeners.clear();
      if (timer) clearTimeout(timer);
      timer = null;
      try {
        if (!db.closed) await db.close();
      } finally {
        unlock();
      }
    },
  };
}
