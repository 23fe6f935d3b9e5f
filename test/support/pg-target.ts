import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** Where a test database can be reached; what a `connections:` entry of gatehouse.yaml points at. */
export interface TestDatabase {
  host: string;
  port: number;
  database: string;
  user: string;
  /** postgres:// URL with no password (trust auth on the real server, none on PGlite). */
  url: string;
  /** Whether this is the real server (true) or embedded PGlite (false). */
  real: boolean;
  drop(): Promise<void>;
}

export const FIXTURE_SQL = readFileSync(new URL('../fixtures/corpus/fixture.sql', import.meta.url), 'utf8');

export function usingRealServer(): boolean {
  return (process.env.GATEHOUSE_TEST_PG ?? 'real') === 'real';
}

const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };

/**
 * Creates a fresh database for one test file, loaded with `sql` (the corpus fixture by default).
 * On the real server it is `gh_test_<random>` and `drop()` removes it; without a server it is a
 * PGlite instance served over a socket.
 */
export async function createTestDatabase(sql: string = FIXTURE_SQL): Promise<TestDatabase> {
  if (usingRealServer()) return createRealDatabase(sql);
  return createPgliteDatabase(sql);
}

async function createRealDatabase(sql: string): Promise<TestDatabase> {
  const database = `gh_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${database}"`));
  const client = new pg.Client({ ...ADMIN, database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
  return {
    host: ADMIN.host,
    port: ADMIN.port,
    database,
    user: ADMIN.user,
    url: `postgres://${ADMIN.user}@${ADMIN.host}:${ADMIN.port}/${database}`,
    real: true,
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs `fn` with a client connected as the server's superuser to the `postgres` database. */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(ADMIN);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createPgliteDatabase(sql: string): Promise<TestDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  await db.exec(sql);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    host: host!,
    port: Number(port),
    database: 'postgres',
    user: 'postgres',
    url: `postgres://postgres@${host}:${port}/postgres`,
    real: false,
    drop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
