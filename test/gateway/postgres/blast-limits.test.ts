import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const SETUP = `
  CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, total numeric NOT NULL);
  INSERT INTO orders SELECT g, g % 50, g FROM generate_series(1, 2000) g;
  CREATE TABLE notes (id int PRIMARY KEY, body text);
  INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g;
  ANALYZE orders; ANALYZE notes;
  CREATE TABLE fresh (id int, v int);
`;

const LIMITS = `
limits:
  - name: bounded-blast
    connections: [app-db]
    statement: { rows_read: 500, rows_written: 100 }
    session: { rows_written: 150 }
  - name: share-of-a-table
    statement: { fraction_written: 0.5 }
`;

const run = promisify(execFile);
let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase(SETUP);
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-blast-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(path.join(policies, 'limits.yaml'), LIMITS);
  gateway = await startTestGateway(db, { policies });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

/** Runs each SQL string as its own simple Query on one psql connection; returns stdout and stderr. */
async function psql(...queries: string[]): Promise<{ out: string; err: string }> {
  try {
    const args = [gateway.url, '-X', '-At', ...queries.flatMap((q) => ['-c', q])];
    const { stdout, stderr } = await run('bash', ['-c', 'psql "$@" < /dev/null', 'psql', ...args], {
      maxBuffer: 1 << 24,
    });
    return { out: stdout, err: stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

async function direct<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('reads bounded while they stream', () => {
  it('passes a read under the bound whole', async () => {
    const { out, err } = await psql('SELECT id FROM orders WHERE id <= 500 ORDER BY id');
    expect(err).toBe('');
    expect(out.trim().split('\n')).toHaveLength(500);
  });

  it('cuts a bulk SELECT off past the bound with SQLSTATE 54000, and the connection stays usable', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      const error = await client.query('SELECT * FROM orders').catch((e: pg.DatabaseError) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as pg.DatabaseError).code).toBe('54000');
      expect((error as Error).message).toMatch(/read more than 500 rows, the bound of limit 'bounded-blast'/);
      expect((await client.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: 2000 }]);
    } finally {
      await client.end();
    }
  });

  it('cuts COPY TO STDOUT off the same way for psql, which receives at most the bound', async () => {
    const { out, err } = await psql('COPY orders TO STDOUT', 'SELECT 42');
    expect(err).toMatch(/read more than 500 rows/);
    expect(out.trim().split('\n').length).toBeLessThanOrEqual(501);
    expect(out.trim().split('\n').at(-1)).toBe('42');
  });

  it('aborts an open transaction block whose read was cut off, as any failed statement does', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await expect(client.query('SELECT * FROM orders')).rejects.toThrow(/read more than 500 rows/);
      await expect(client.query('SELECT 1')).rejects.toThrow(/a read in this transaction was cut off; roll it back/);
      await expect(client.query('COMMIT')).rejects.toThrow(/roll it back/);
      await client.query('ROLLBACK');
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });
});

describe('writes bounded by the target planner before they run', () => {
  it("denies a DELETE whose WHERE only looks bounded (orders.id = id), on the planner's estimate", async () => {
    const { err } = await psql('DELETE FROM orders WHERE orders.id = id');
    expect(err).toMatch(/would change about 2000 rows by the target's estimate, over the bound of 100 rows/);
    expect(await direct('SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 2000 }]);
  });

  it('passes a bounded UPDATE and a parameterised one from node-postgres', async () => {
    const { err } = await psql('UPDATE orders SET total = total + 1 WHERE id BETWEEN 1 AND 10');
    expect(err).toBe('');
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      const result = await client.query('UPDATE orders SET total = $1 WHERE id = $2', [7, 11]);
      expect(result.rowCount).toBe(1);
      await expect(client.query('UPDATE orders SET total = $1 WHERE customer >= $2', [7, 0])).rejects.toThrow(
        /over the bound of 100 rows per statement/,
      );
    } finally {
      await client.end();
    }
  });

  it('judges writes hidden in a data-modifying CTE and a MERGE by their estimate', async () => {
    const cte = await psql('WITH gone AS (DELETE FROM orders WHERE id > 0 RETURNING id) SELECT count(*) FROM gone');
    expect(cte.err).toMatch(/on orders would change about 2000 rows by the target's estimate/);
    const merge = await psql('MERGE INTO orders o USING notes n ON o.id = n.id WHEN MATCHED THEN UPDATE SET total = 0');
    expect(merge.err).toBe('');
    expect(await direct('SELECT count(*)::int AS n FROM orders WHERE total = 0')).toEqual([{ n: 100 }]);
  });

  it("denies a write estimated over its share of the table, by the table's statistics", async () => {
    const { err } = await psql("UPDATE notes SET body = 'x' WHERE id <= 60");
    expect(err).toMatch(
      /would change about 60 of the table's 100 rows by the target's estimate, over the bound of 50% of a table/,
    );
    expect(await direct("SELECT count(*)::int AS n FROM notes WHERE body = 'x'")).toEqual([{ n: 0 }]);
  });

  it('fails closed on a table without statistics, and inserts are not shares of a table', async () => {
    const update = await psql('UPDATE fresh SET v = 1 WHERE id = 1');
    expect(update.err).toMatch(/writes a table without statistics \(never analysed\).*run ANALYZE on it/);
    const insert = await psql('INSERT INTO fresh VALUES (1, 1)');
    expect(insert.err).toBe('');
  });

  it('fails closed on a statement the planner cannot estimate', async () => {
    const { err } = await psql('COPY fresh FROM STDIN');
    expect(err).toMatch(/could not be estimated \(the planner cannot estimate COPY\)/);
  });
});
