import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS } from '../../../gateway/store/migrations.ts';
import { createPgliteExecutor } from '../../../gateway/store/pglite-executor.ts';
import { SqlStore } from '../../../gateway/store/sql-store.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';
import { ENGINES, type EngineStore } from './store-engines.ts';

function events(sessionId: string, chain: string, count: number): AuditEventRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sessionId,
    chain,
    seq: i + 1,
    type: 'statement',
    at: new Date(Date.UTC(2026, 0, 1, 10, 0, i)),
    data: { text: `SELECT ${i}` },
    prevHash: `${chain}-p${i + 1}`,
    hash: `${chain}-h${i + 1}`,
  }));
}

describe.each(ENGINES)('audit tables on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('keeps one sequence per chain of a session, so two replicas never take the same number', async () => {
    const id = randomUUID();
    await ctx.store.appendAuditEvents([...events(id, 'aaa', 3), ...events(id, 'bbb', 2)]);
    const listed = await ctx.store.listAuditEvents(id);
    expect(listed.map((e) => `${e.chain}:${e.seq}`)).toEqual(['aaa:1', 'aaa:2', 'aaa:3', 'bbb:1', 'bbb:2']);
    expect((await ctx.store.lastAuditEvent(id, 'bbb'))?.seq).toBe(2);
    expect(await ctx.store.lastAuditEvent(id)).toBeNull();
    await expect(ctx.store.appendAuditEvents(events(id, 'aaa', 1))).rejects.toThrow();
  });

  it('ships at least once: skips what is stored, and returns what the store holds differently', async () => {
    const id = randomUUID();
    const chain = events(id, 'ccc', 4);
    expect(await ctx.store.shipAuditEvents(chain.slice(0, 2))).toEqual([]);
    const altered = { ...chain[1]!, hash: 'other' };
    expect(await ctx.store.shipAuditEvents([chain[0]!, altered, ...chain.slice(2)])).toEqual([altered]);
    expect((await ctx.store.listAuditEvents(id)).map((e) => e.hash)).toEqual(chain.map((e) => e.hash));
  });

  it('registers a chain once and lists the chains of a session', async () => {
    const id = randomUUID();
    const chain = { sessionId: id, chain: 'ddd', gateway: 'gw-1', openedAt: new Date('2026-01-01T10:00:00.000Z') };
    await ctx.store.registerAuditChain(chain);
    await ctx.store.registerAuditChain({ ...chain, gateway: 'gw-2' });
    expect(await ctx.store.listAuditChains(id)).toEqual([chain]);
  });

  it('keeps the first copy of a public key, and a retirement sticks', async () => {
    const key = {
      keyId: randomUUID(),
      publicKey: 'PEM',
      gateway: 'gw-1',
      status: 'active' as const,
      createdAt: new Date(),
    };
    await ctx.store.putAuditKey(key);
    await ctx.store.putAuditKey({ ...key, status: 'retired' });
    await ctx.store.putAuditKey({ ...key, publicKey: 'OTHER' });
    expect((await ctx.store.listAuditKeys()).find((k) => k.keyId === key.keyId)).toMatchObject({
      publicKey: 'PEM',
      status: 'retired',
    });
  });

  it('deletes a secret and says whether there was one', async () => {
    await ctx.store.putSecretIfAbsent('gone-soon', 'v');
    expect(await ctx.store.deleteSecret('gone-soon')).toBe(true);
    expect(await ctx.store.deleteSecret('gone-soon')).toBe(false);
    expect(await ctx.store.getSecret('gone-soon')).toBeNull();
  });
});

describe('migration 2', () => {
  it('keeps the events of a store written before chains, as the unnamed chain', async () => {
    const sql = await createPgliteExecutor(`memory://migration-${randomUUID()}`);
    try {
      await applyMigrations(sql, MIGRATIONS.slice(0, 1));
      await sql.exec(
        `INSERT INTO audit_events (session_id, seq, type, at, data, prev_hash, hash) VALUES ('old', 1, 'statement', now(), '{}', 'p', 'h')`,
      );
      expect(await applyMigrations(sql)).toEqual([2]);
      const store = new SqlStore(sql);
      expect((await store.listAuditEvents('old')).map((e) => [e.chain ?? '', e.seq])).toEqual([['', 1]]);
      expect((await store.lastAuditEvent('old'))?.hash).toBe('h');
    } finally {
      await sql.close();
    }
  });
});
