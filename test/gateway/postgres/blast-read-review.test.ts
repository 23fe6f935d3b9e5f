import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const SETUP = `
  CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
  INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 3000) g;
`;

const LIMITS = `
limits:
  - name: exports-need-approval
    connections: [app-db]
    statement: { rows_read: 1000 }
    over_read: review
    review: { timeout: 30s }
`;

let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase(SETUP);
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-blast-review-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(path.join(policies, 'limits.yaml'), LIMITS);
  gateway = await startTestGateway(db, { policies });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

/** Answers the first pending approval once it exists; returns what reviewers were shown. */
async function answerWhenPending(approved: boolean): Promise<{ rule: string; shown: string }> {
  for (let i = 0; i < 200; i++) {
    const pending = (await gateway.store.listPendingApprovals()).find((a) => a.connection === 'app-db');
    if (pending) {
      await gateway.broker.decide(pending.id, { approved, by: ['alice'] });
      return { rule: pending.rule, shown: JSON.stringify(pending) };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no approval was requested');
}

describe('a bulk read held mid-stream for approval', () => {
  it('holds a SELECT at its bound and, once approved, the client receives every row in order', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    await client.connect();
    try {
      const [result, answer] = await Promise.all([
        client.query('SELECT id FROM customers ORDER BY id'),
        answerWhenPending(true),
      ]);
      expect(answer.rule).toBe('exports-need-approval');
      expect(answer.shown).toContain('this statement read more than 1000 rows and wants more');
      expect(result.rows.map((r: { id: number }) => r.id)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
      expect(notices.join('\n')).toMatch(/held for approval/);
    } finally {
      await client.end();
    }
  });

  it('cuts the read off when the approval is denied, and the connection stays usable', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    try {
      const [error] = await Promise.all([
        client.query('SELECT id, name FROM customers').catch((e: pg.DatabaseError) => e),
        answerWhenPending(false),
      ]);
      expect((error as pg.DatabaseError).code).toBe('54000');
      expect((await client.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([{ n: 3000 }]);
    } finally {
      await client.end();
    }
  });
});
