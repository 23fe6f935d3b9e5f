import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_TOKEN, startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

// `id % 2 = 0` is planned at the default equality selectivity (0.5%): the planner expects about 5
// of the 1000 rows, the statement changes 500. The command tag tells the truth afterwards.
const SETUP = `
  CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);
  INSERT INTO items SELECT g, 0 FROM generate_series(1, 1000) g;
  ANALYZE items;
`;

const LIMITS = `
limits:
  - name: wide-writes-reviewed
    connections: [app-db]
    statement: { rows_written: 50 }
    over_estimate: review
    review: { timeout: 30s }
  - name: session-budget
    session: { rows_written: 550, rows_read: 300 }
`;

let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase(SETUP);
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-blast-session-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(path.join(policies, 'limits.yaml'), LIMITS);
  gateway = await startTestGateway(db, { policies });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

async function withClient<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: gateway.url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function changed(): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query('SELECT count(*)::int AS n FROM items WHERE v <> 0')).rows[0].n as number;
  } finally {
    await client.end();
  }
}

async function approveWhenPending(): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const pending = (await gateway.store.listPendingApprovals()).find((a) => a.connection === 'app-db');
    if (pending) {
      await gateway.broker.decide(pending.id, { approved: true, by: ['alice'] });
      return pending.rule;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no approval was requested');
}

describe('bounds over a whole session', () => {
  it('holds a write estimated over its bound for approval, and runs it once approved', async () => {
    const [result, rule] = await withClient((client) =>
      Promise.all([client.query('UPDATE items SET v = 1 WHERE id <= 100'), approveWhenPending()]),
    );
    expect(rule).toBe('wide-writes-reviewed');
    expect(result.rowCount).toBe(100);
    expect(await changed()).toBe(100);
    const session = await gateway.sessions.authenticate(STATIC_TOKEN);
    await gateway.recorder.flush();
    const events = await gateway.store.listAuditEvents(session!.sessionId);
    const held = events.find((e) => e.type === 'statement' && e.data.rule === 'wide-writes-reviewed');
    expect(held?.data.estimated_writes).toEqual([
      { statement: 'UPDATE', tables: ['items'], rows: expect.any(Number), table_rows: 1000 },
    ]);
    expect((held?.data.estimated_writes as { rows: number }[])[0]!.rows).toBeGreaterThan(50);
  });

  it('refuses COMMIT of a transaction block whose writes (by their command tags) took the session over its bound', async () => {
    await withClient(async (client) => {
      await client.query('BEGIN');
      const wide = await client.query('UPDATE items SET v = 2 WHERE id % 2 = 0');
      expect(wide.rowCount).toBe(500);
      await expect(client.query('COMMIT')).rejects.toThrow(
        /this session changed 600 rows, over the bound of 550 rows per session of limit 'session-budget'; this transaction cannot commit: roll it back/,
      );
      await client.query('ROLLBACK');
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
    expect(await changed()).toBe(100);
  });

  it('counts rolled-back writes out again, and denies writes once committed ones used the budget', async () => {
    await withClient(async (client) => {
      const wide = await client.query('UPDATE items SET v = 3 WHERE id % 2 = 1');
      expect(wide.rowCount).toBe(500);
      await expect(client.query('UPDATE items SET v = 4 WHERE id = 2')).rejects.toThrow(
        /with the 600 rows this session already changed that is over its bound of 550 rows per session/,
      );
    });
  });

  it('cuts off a read that takes the session past its read bound, across statements', async () => {
    await withClient(async (client) => {
      expect((await client.query('SELECT id FROM items WHERE id <= 200')).rowCount).toBe(200);
      await expect(client.query('SELECT id FROM items WHERE id <= 200')).rejects.toThrow(
        /this session read more than 300 rows in all, the bound of limit 'session-budget'/,
      );
    });
  });
});
