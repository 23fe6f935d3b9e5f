import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

let bed: AttackBed;
let direct: pg.Client;
let through: pg.Client;

beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml'] });
  direct = new pg.Client({ host: bed.db.host, port: bed.db.port, user: bed.db.user, database: bed.db.database });
  through = new pg.Client({ connectionString: bed.gateway.url });
  await Promise.all([direct.connect(), through.connect()]);
});
afterAll(async () => {
  await Promise.all([direct?.end(), through?.end()]);
  await bed?.close();
});

const BROKEN = [
  'SELEC 1',
  'SELECT 1; SELEC 2',
  "SELECT 'unterminated",
  'SELECT (1',
  'SELECT é FROM',
  'CREATE TABLE t (a int,)',
  'SELECT ""',
];

/** What a client sees of an error: the fields a driver or psql's caret uses. */
async function errorOf(client: pg.Client, query: string | pg.QueryConfig) {
  try {
    await client.query(query as pg.QueryConfig);
    return undefined;
  } catch (error) {
    const e = error as pg.DatabaseError;
    return { code: e.code, message: e.message, position: e.position, severity: e.severity };
  }
}

describe('SQL the target cannot parse', () => {
  it.each(BROKEN)('answers %j with the same error as the server (simple query)', async (sql) => {
    const expected = await errorOf(direct, sql);
    expect(expected?.code).toBe('42601');
    expect(await errorOf(through, sql)).toEqual(expected);
  });

  it('answers a Parse of broken SQL with the server error (extended query), and the connection goes on', async () => {
    const query = { text: 'SELECT $1::int FROM WHERE', values: [1] };
    const expected = await errorOf(direct, query);
    expect(await errorOf(through, query)).toEqual(expected);
    expect((await through.query('SELECT $1::int AS n', [7])).rows[0].n).toBe(7);
  });

  it('aborts an open transaction block as the server does, and never forwards the statement', async () => {
    await through.query('BEGIN');
    await expect(through.query('INSERT INTO orders (id) VALUES (999) RETURNING ((')).rejects.toMatchObject({
      code: '42601',
    });
    await expect(through.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await through.query('ROLLBACK');
    const logged = await bed.direct(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%RETURNING ((%' AND pid <> pg_backend_pid()",
    );
    expect(logged.rows[0].n).toBe(0);
  });

  it('keeps psql showing the caret where the server would', async () => {
    const sql = 'SELECT 1 FROM FROM';
    const out = await bed.psql(sql);
    expect(out.ok).toBe(false);
    const run = promisify(execFile);
    const server = await run('psql', [bed.db.url, '-X', '-At', '-c', sql]).catch((e: { stderr: string }) => e);
    expect(out.output).toBe(server.stderr);
    expect(out.output).toMatch(/LINE 1: SELECT 1 FROM FROM\n\s+\^/);
  });
});
