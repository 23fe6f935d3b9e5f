import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../../../gateway/store/store.ts';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const REVIEW_RULES = `
rules:
  - name: orders-need-review
    action: review
    when: { tables_written: [orders] }
    reason: "changing orders needs a reviewer"
    review: { timeout: 1m }
`;

let db: TestDatabase;
let gateway: GatewayUnderTest;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-prepared-approval-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(path.join(policies, 'review.yaml'), REVIEW_RULES);
  gateway = await startTestGateway(db, { policies });
  client = new pg.Client({ connectionString: gateway.url });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.end().catch(() => {});
  await gateway?.close();
  await db?.drop();
});

const seen = new Set<string>();

/** The next approval requested on app-db that this test has not seen yet. */
async function nextPending(): Promise<ApprovalRecord> {
  for (let i = 0; i < 200; i++) {
    const pending = (await gateway.store.listPendingApprovals()).find((a) => !seen.has(a.id));
    if (pending) {
      seen.add(pending.id);
      return pending;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no approval was requested');
}

const UPDATE = { name: 'set-status', text: 'UPDATE orders SET status = $1 WHERE id = $2' };

async function status(id: number): Promise<string> {
  const direct = new pg.Client({ connectionString: db.url });
  await direct.connect();
  try {
    return (await direct.query('SELECT status FROM orders WHERE id = $1', [id])).rows[0].status as string;
  } finally {
    await direct.end();
  }
}

describe('an approval of a protocol-level prepared statement', () => {
  it('shows the reviewer the parameter values and covers one execution with exactly those values', async () => {
    const before = await status(2);
    const first = client.query({ ...UPDATE, values: ['approved-once', 1] });
    const approval = await nextPending();
    expect(approval.statement).toBe(
      'UPDATE orders SET status = $1 WHERE id = $2\n-- parameters: ["approved-once","1"]',
    );
    await gateway.broker.decide(approval.id, { approved: true, by: ['alice'] });
    expect((await first).rowCount).toBe(1);
    expect(await status(1)).toBe('approved-once');

    // The same prepared statement with other values is held again; the first approval does not cover it.
    const second = client.query({ ...UPDATE, values: ['riding-along', 2] }).then(
      () => null,
      (error: pg.DatabaseError) => error,
    );
    const again = await nextPending();
    expect(again.id).not.toBe(approval.id);
    expect(again.statement).toContain('-- parameters: ["riding-along","2"]');
    expect(again.statementHash).not.toBe(approval.statementHash);
    await gateway.broker.decide(again.id, { approved: false, by: ['alice'], reason: 'not this one' });
    expect((await second)?.code).toBe('42501');
    expect(await status(2)).toBe(before);
  });

  it('holds a repeat of the very same values again: one approval is one execution', async () => {
    const repeat = client.query({ ...UPDATE, values: ['approved-once', 1] });
    const approval = await nextPending();
    expect(approval.statement).toContain('-- parameters: ["approved-once","1"]');
    await gateway.broker.decide(approval.id, { approved: true, by: ['bob'] });
    expect((await repeat).rowCount).toBe(1);
  });

  it('binds an approval to the parameters of an unnamed statement too', async () => {
    const held = client.query('UPDATE orders SET status = $1 WHERE id = $2', ['unnamed', 3]);
    const approval = await nextPending();
    expect(approval.statement).toBe('UPDATE orders SET status = $1 WHERE id = $2\n-- parameters: ["unnamed","3"]');
    await gateway.broker.decide(approval.id, { approved: true, by: ['alice'] });
    expect((await held).rowCount).toBe(1);
    await gateway.recorder.flush();
    const session = await gateway.sessions.authenticate('static-test-token-abcdefghijklmnop');
    const events = await gateway.store.listAuditEvents(session!.sessionId);
    const statement = events.find((e) => e.type === 'statement' && e.data.approval_id === approval.id);
    expect(statement?.data).toMatchObject({ decision: 'allow', params: ['unnamed', '3'] });
  });
});
