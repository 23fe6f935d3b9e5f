import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkerStore } from '../../../gateway/store/worker-store.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';
import { freshPgliteDir } from './pglite-template.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function open() {
  const dir = await freshPgliteDir();
  dirs.push(dir);
  return createWorkerStore(dir);
}

function event(seq: number): AuditEventRecord {
  return {
    sessionId: 'sess-w',
    seq,
    type: 'statement',
    at: new Date('2026-01-01T00:00:00Z'),
    data: { text: 'SELECT 1' },
    prevHash: 'p',
    hash: `h${seq}`,
  };
}

describe('createWorkerStore', () => {
  it('returns records with real Dates and keeps the SQLSTATE of a duplicate audit event, so the recorder can retry', async () => {
    const store = await open();
    try {
      await store.appendAuditEvents([event(1), event(2)]);
      const last = await store.lastAuditEvent('sess-w');
      expect(last?.seq).toBe(2);
      expect(last?.at).toBeInstanceOf(Date);
      await expect(store.appendAuditEvents([event(2)])).rejects.toMatchObject({ code: '23505' });
    } finally {
      await store.close();
    }
  });

  it('tells approval listeners about decisions, then stops once unsubscribed', async () => {
    const store = await open();
    try {
      const now = new Date();
      await store.createApproval({
        id: 'apr_w',
        sessionId: 'sess-w',
        connection: 'db',
        statementHash: 'x',
        statement: 'DELETE',
        rule: 'r',
        status: 'pending',
        requestedAt: now,
        expiresAt: new Date(now.getTime() + 60_000),
        decidedAt: null,
        decidedBy: [],
        reason: null,
        settings: {},
      });
      const decided = new Promise<string>((resolve) => {
        const stop = store.onApprovalDecided((id) => {
          stop();
          resolve(id);
        });
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(
        await store.decideApproval('apr_w', { status: 'approved', decidedBy: ['octo'], reason: null }, new Date()),
      ).toBe(true);
      expect(await decided).toBe('apr_w');
    } finally {
      await store.close();
    }
  });

  it('fails every call after the worker has stopped instead of hanging', async () => {
    const store = await open();
    await store.close();
    await expect(store.getSecret('anything')).rejects.toMatchObject({ code: 'store.unavailable' });
  });
});
