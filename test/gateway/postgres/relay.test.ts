import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { startAdapter } from '../../support/postgres-gateway.ts';

const run = promisify(execFile);
let db: TestDatabase;
let gateway: Awaited<ReturnType<typeof startAdapter>>;

beforeAll(async () => {
  db = await createTestDatabase();
  gateway = await startAdapter(db);
});
afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

describe('the PostgreSQL relay', () => {
  it('answers psql with the rows of a simple query', async () => {
    const { stdout } = await run('psql', [gateway.url, '-tA', '-c', 'SELECT name FROM customers ORDER BY id']);
    expect(stdout.trim().split('\n')).toEqual(['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
  });

  it('runs several statements of one simple query and reports each result', async () => {
    const { stdout } = await run('psql', [gateway.url, '-tA', '-c', 'SELECT 1; SELECT count(*) FROM orders']);
    expect(stdout.trim()).toBe('1\n30');
  });

  it('serves node-postgres simple and parameterized queries, named statements included', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(3);
      const byId = { name: 'by-id', text: 'SELECT name FROM customers WHERE id = $1', values: [2] };
      expect((await client.query(byId)).rows[0].name).toBe('Alan Turing');
      expect((await client.query({ ...byId, values: [3] })).rows[0].name).toBe('Grace Hopper');
      await expect(client.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
      expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    } finally {
      await client.end();
    }
  });

  it('keeps transaction state: an error inside a block aborts it until ROLLBACK', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("UPDATE orders SET status = 'x' WHERE id = 1");
      await expect(client.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
      await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await client.query('ROLLBACK');
      expect((await client.query('SELECT status FROM orders WHERE id = 1')).rows[0].status).toBe('open');
    } finally {
      await client.end();
    }
  });

  it('copies data in with COPY FROM STDIN and out with COPY TO STDOUT', async () => {
    await run('psql', [gateway.url, '-c', 'CREATE TABLE copy_target (id int, label text)']);
    const input = '1\tone\n2\ttwo\n';
    const copyIn = execFile('psql', [gateway.url, '-c', 'COPY copy_target FROM STDIN']);
    copyIn.stdin!.end(input);
    await new Promise((resolve, reject) =>
      copyIn.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`psql exit ${code}`)))),
    );
    const { stdout } = await run('psql', [gateway.url, '-c', 'COPY (SELECT * FROM copy_target ORDER BY id) TO STDOUT']);
    expect(stdout).toBe(input);
  });

  it('cancels a running pg_sleep through its CancelRequest', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      const started = Date.now();
      const sleeping = client.query('SELECT pg_sleep(20)');
      await new Promise((r) => setTimeout(r, 300));
      const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
      const cancel = net.connect({ host: '127.0.0.1', port: gateway.port }, () =>
        cancel.end(serialize.cancel(processID, secretKey)),
      );
      await expect(sleeping).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await client.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    } finally {
      await client.end();
    }
  });

  it('refuses a wrong session token with 28P01 and names the fix', async () => {
    const bad = gateway.url.replace(/ci:[^@]+@/, 'ci:wrong-token@');
    const failed = await run('psql', [bad, '-c', 'SELECT 1']).catch((error) => error);
    expect(failed.stderr).toContain('not a valid gateway session token');
  });

  it('refuses an unknown connection name and lists the known ones', async () => {
    const failed = await run('psql', [gateway.url.replace('/app-db', '/nope'), '-c', 'SELECT 1']).catch((e) => e);
    expect(failed.stderr).toContain('connection "nope" does not exist');
    expect(failed.stderr).toContain('app-db');
  });
});
