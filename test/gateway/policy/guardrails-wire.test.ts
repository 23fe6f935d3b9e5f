import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';

const run = promisify(execFile);

interface GuardrailCase {
  sql: string;
  via?: 'extended';
  guard: 'allow' | 'deny';
  read_only: 'allow' | 'deny';
}
const corpus = parse(readFileSync('test/fixtures/corpus/guardrails.yaml', 'utf8')) as { cases: GuardrailCase[] };
const extra: GuardrailCase[] = [
  { sql: "UPDATE orders SET status = 'x' WHERE true", guard: 'deny', read_only: 'deny' },
  { sql: 'DELETE FROM orders WHERE 1 = 1', via: 'extended', guard: 'deny', read_only: 'deny' },
  { sql: 'SELECT id FROM orders WHERE id = 2 FOR UPDATE', guard: 'allow', read_only: 'deny' },
  { sql: "SELECT set_config('role', 'postgres', false)", guard: 'deny', read_only: 'deny' },
  { sql: 'PREPARE p AS DELETE FROM orders; EXECUTE p', guard: 'deny', read_only: 'deny' },
];

/** Everything a statement could change in the fixture, as one comparable snapshot. */
async function snapshot(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query(
      "SELECT string_agg(tablename, ',' ORDER BY tablename) AS t FROM pg_tables WHERE schemaname = 'public'",
    );
    const orders = await client.query(
      "SELECT string_agg(id || ':' || total || ':' || status, ',' ORDER BY id) AS o FROM orders",
    );
    const customers = await client.query(
      "SELECT string_agg(id || ':' || coalesce(email, '-'), ',' ORDER BY id) AS c FROM customers",
    );
    return JSON.stringify([tables.rows[0].t, orders.rows[0].o, customers.rows[0].c]);
  } finally {
    await client.end();
  }
}

for (const baseline of ['guard', 'read_only'] as const) {
  describe(`guardrails through the gateway, ${baseline} baseline`, () => {
    let db: TestDatabase;
    let gateway: GatewayUnderTest;
    beforeAll(async () => {
      db = await createTestDatabase();
      const policies = baseline === 'guard' ? path.resolve('policies') : onlyFile('policies/examples/read-only.yaml');
      gateway = await startTestGateway(db, { policies });
    });
    afterAll(async () => {
      await gateway?.close();
      await db?.drop();
    });

    for (const testCase of [...corpus.cases, ...extra]) {
      const expected = testCase[baseline];
      it(`${expected === 'deny' ? 'denies' : 'allows'} ${JSON.stringify(testCase.sql)}${testCase.via ? ' (extended protocol)' : ''}`, async () => {
        const before = await snapshot(db.url);
        const outcome =
          testCase.via === 'extended'
            ? await viaNodePostgres(gateway.url, testCase.sql)
            : await viaPsql(gateway.url, testCase.sql);
        if (expected === 'allow') {
          expect(outcome.error).toBeUndefined();
          return;
        }
        expect(outcome.error).toMatch(/denied by rule "[a-z0-9-]+"/);
        if (testCase.via === 'extended') expect(outcome.code).toBe('42501');
        expect(await snapshot(db.url)).toBe(before);
      });
    }

    it('leaves the connection usable after a denial, and a transaction block aborted', async () => {
      const client = new pg.Client({ connectionString: gateway.url });
      await client.connect();
      try {
        await expect(client.query('DROP TABLE orders')).rejects.toMatchObject({ code: '42501' });
        expect((await client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(30);
        await client.query('BEGIN');
        await expect(client.query('DROP TABLE orders')).rejects.toMatchObject({ code: '42501' });
        await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
        await client.query('ROLLBACK');
        expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      } finally {
        await client.end();
      }
    });
  });
}

/** A policy folder holding just one shipped policy file. */
function onlyFile(file: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-policy-'));
  copyFileSync(file, path.join(dir, path.basename(file)));
  return dir;
}

async function viaPsql(url: string, sql: string): Promise<{ error?: string; code?: string }> {
  try {
    await run('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    return {};
  } catch (error) {
    return { error: (error as { stderr: string }).stderr };
  }
}

async function viaNodePostgres(url: string, sql: string): Promise<{ error?: string; code?: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig);
    return {};
  } catch (error) {
    return { error: (error as Error).message, code: (error as { code?: string }).code };
  } finally {
    await client.end();
  }
}
