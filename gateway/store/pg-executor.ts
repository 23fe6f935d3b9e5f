import pg from 'pg';
import {
  APPROVAL_CHANNEL,
  SESSION_END_CHANNEL,
  type NotifyChannel,
  type SqlExecutor,
  type SqlRunner,
} from './sql-executor.ts';

/**
 * The PostgreSQL engine: a node-postgres pool for queries and one dedicated connection that
 * LISTENs for approval decisions and ended sessions, so what happens on any replica reaches all
 * of them. A lost listening connection is re-established after a second; what was announced
 * meanwhile is found by the callers' polls.
 */
export function createPgExecutor(url: string, options: { max?: number } = {}): SqlExecutor {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, application_name: 'gatehouse' });
  pool.on('error', () => {});
  const listeners = new Map<NotifyChannel, Set<(payload: string) => void>>([
    [APPROVAL_CHANNEL, new Set()],
    [SESSION_END_CHANNEL, new Set()],
  ]);
  const listening = (): boolean => [...listeners.values()].some((set) => set.size > 0);
  let listener: Promise<pg.Client> | null = null;
  let closed = false;

  const runner = (client: pg.Pool | pg.PoolClient): SqlRunner => ({
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as T[];
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  });

  async function startListening(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url, application_name: 'gatehouse-listen' });
    client.on('error', () => {
      listener = null;
      if (!closed && listening()) setTimeout(() => void ensureListening(), 1000).unref();
    });
    client.on('notification', (message) => {
      const set = listeners.get(message.channel as NotifyChannel);
      if (!set || !message.payload) return;
      for (const fn of set) fn(message.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${APPROVAL_CHANNEL}; LISTEN ${SESSION_END_CHANNEL}`);
    return client;
  }

  function ensureListening(): void {
    if (closed || listener) return;
    listener = startListening();
    listener.catch(() => {
      listener = null;
      if (!closed && listening()) setTimeout(() => void ensureListening(), 1000).unref();
    });
  }

  function watch(channel: NotifyChannel, fn: (payload: string) => void): () => void {
    listeners.get(channel)!.add(fn);
    ensureListening();
    return () => {
      listeners.get(channel)!.delete(fn);
    };
  }

  return {
    ...runner(pool),
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // A connection the server terminates mid-transaction also emits 'error' on the checked-out
      // client; the failing query already reports it, so the event must not crash the process.
      const onError = (): void => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    watchApprovals: (fn) => watch(APPROVAL_CHANNEL, fn),
    watchSessionEnds: (fn) => watch(SESSION_END_CHANNEL, fn),
    async close() {
      closed = true;
      for (const set of listeners.values()) set.clear();
      const client = listener;
      listener = null;
      if (client) await client.then((c) => c.end()).catch(() => {});
      await pool.end();
    },
  };
}
