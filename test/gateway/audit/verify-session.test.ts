import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHash } from '../../../gateway/audit/hash-chain.ts';
import { createRecorder, type Recorder, type RecorderReads } from '../../../gateway/audit/recorder.ts';
import { generateAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { verifySession, type VerifyResult } from '../../../gateway/audit/verify-session.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

describe.each(ENGINES)('verifySession against tampering on $name', (engine) => {
  let ctx: EngineStore;
  let recorder: Recorder & RecorderReads;
  let publicKey: KeyObject;

  beforeAll(async () => {
    ctx = await engine.open();
    const key = generateAuditSigningKey();
    recorder = createRecorder({ store: ctx.store, key, durability: 'store' });
    publicKey = key.publicKey;
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  /** A sealed session: 1 start, 2-4 statements, 5 end, 6 seal. */
  async function sealedSession(): Promise<string> {
    const id = randomUUID();
    await recorder.sessionStarted(id, { claims: { repository: 'acme/app' }, connection: 'app-db' });
    for (const n of [1, 2, 3])
      await recorder.record(id, 'statement', { text: `SELECT ${n}`, decision: 'allow', rule: 'r' });
    await recorder.sessionEnded(id, 'client-closed');
    return id;
  }

  /** Runs SQL as someone with direct database access would: past the append-only trigger. */
  async function tamper(sql: string): Promise<void> {
    await ctx.sql.transaction((tx) =>
      tx.exec(
        `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only; ${sql}; ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`,
      ),
    );
  }

  function problems(result: VerifyResult): Array<[number, string]> {
    return result.problems.map((p) => [p.seq, p.kind]);
  }

  it('verifies an untouched session', async () => {
    const id = await sealedSession();
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result).toMatchObject({ ok: true, events: 6, sealed: true, signatureOk: true, problems: [] });
  });

  it('names an event whose content was edited', async () => {
    const id = await sealedSession();
    await tamper(
      `UPDATE audit_events SET data = '{"text":"SELECT 42","decision":"allow","rule":"r"}' WHERE session_id = '${id}' AND seq = 3`,
    );
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toEqual([[3, 'altered']]);
    expect(result.problems[0]!.message).toMatch(/event 3 \(statement\) was altered/);
  });

  it('names an event that was edited and re-hashed, through the broken link after it', async () => {
    const id = await sealedSession();
    const [event] = (await ctx.store.listAuditEvents(id)).filter((e) => e.seq === 3);
    const data = { ...event!.data, text: 'SELECT 42' };
    const hash = eventHash(event!.prevHash, { ...event!, data });
    await tamper(
      `UPDATE audit_events SET data = '${JSON.stringify(data)}', hash = '${hash}' WHERE session_id = '${id}' AND seq = 3`,
    );
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toEqual([[3, 'broken-link']]);
  });

  it('names an event whose type was changed to one gatehouse never records', async () => {
    const id = await sealedSession();
    await tamper(`UPDATE audit_events SET type = 'note' WHERE session_id = '${id}' AND seq = 3`);
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toEqual([
      [3, 'altered'],
      [3, 'unknown-type'],
    ]);
  });

  it('names a deleted event', async () => {
    const id = await sealedSession();
    await tamper(`DELETE FROM audit_events WHERE session_id = '${id}' AND seq = 3`);
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toContainEqual([3, 'removed']);
    expect(result.problems[0]!.message).toMatch(/event 3 is missing/);
  });

  it('names a deleted event even when later events were renumbered to close the gap', async () => {
    const id = await sealedSession();
    await tamper(
      `DELETE FROM audit_events WHERE session_id = '${id}' AND seq = 3;
       UPDATE audit_events SET seq = seq + 1000 WHERE session_id = '${id}' AND seq > 3;
       UPDATE audit_events SET seq = seq - 1001 WHERE session_id = '${id}' AND seq > 1000`,
    );
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)[0]).toEqual([3, 'removed']);
  });

  it('names an event inserted into the middle of a chain', async () => {
    const id = await sealedSession();
    const [second] = (await ctx.store.listAuditEvents(id)).filter((e) => e.seq === 2);
    const forged = {
      sessionId: id,
      chain: second!.chain,
      seq: 3,
      type: 'statement',
      at: second!.at,
      data: { text: 'SELECT forged', decision: 'allow', rule: 'r' },
    };
    const hash = eventHash(second!.hash, forged);
    await tamper(
      `UPDATE audit_events SET seq = seq + 1000 WHERE session_id = '${id}' AND seq >= 3;
       UPDATE audit_events SET seq = seq - 999 WHERE session_id = '${id}' AND seq > 1000;
       INSERT INTO audit_events (session_id, chain, seq, type, at, data, prev_hash, hash)
       VALUES ('${id}', '${second!.chain}', 3, 'statement', '${second!.at.toISOString()}', '${JSON.stringify(forged.data)}', '${second!.hash}', '${hash}')`,
    );
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toContainEqual([3, 'inserted']);
    expect(result.problems.find((p) => p.kind === 'inserted')!.message).toMatch(/event 3 \(statement\) was inserted/);
  });

  it('names an event appended after the seal', async () => {
    const id = await sealedSession();
    const last = (await ctx.store.lastAuditEvent(id, recorder.chain))!;
    const forged = {
      sessionId: id,
      chain: last.chain,
      seq: 7,
      type: 'statement',
      at: last.at,
      data: { text: 'DROP TABLE users' },
    };
    await tamper(
      `INSERT INTO audit_events (session_id, chain, seq, type, at, data, prev_hash, hash)
       VALUES ('${id}', '${last.chain}', 7, 'statement', '${last.at.toISOString()}', '${JSON.stringify(forged.data)}', '${last.hash}', '${eventHash(last.hash, forged)}')`,
    );
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toEqual([[7, 'after-seal']]);
  });

  it('names both events of a swapped pair', async () => {
    const id = await sealedSession();
    await tamper(
      `UPDATE audit_events SET seq = 1003 WHERE session_id = '${id}' AND seq = 3;
       UPDATE audit_events SET seq = 3 WHERE session_id = '${id}' AND seq = 4;
       UPDATE audit_events SET seq = 4 WHERE session_id = '${id}' AND seq = 1003`,
    );
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toEqual([
      [3, 'reordered'],
      [4, 'reordered'],
    ]);
    expect(result.problems[0]!.message).toMatch(/recorded as event 4/);
  });

  it('reports a session whose end and seal were cut off as unsealed', async () => {
    const id = await sealedSession();
    await tamper(`DELETE FROM audit_events WHERE session_id = '${id}' AND seq >= 5`);
    const result = await verifySession(ctx.store, id, publicKey);
    expect(result).toMatchObject({ ok: false, sealed: false, events: 4 });
    expect(problems(result)).toEqual([[5, 'unsealed']]);
  });

  it('rejects the seal under another key', async () => {
    const id = await sealedSession();
    const other = generateKeyPairSync('ed25519').publicKey;
    const result = await verifySession(ctx.store, id, other);
    expect(result).toMatchObject({ ok: false, signatureOk: false });
    expect(problems(result)).toEqual([[6, 'bad-signature']]);
  });

  it('reports a session with no events as missing', async () => {
    const result = await verifySession(ctx.store, randomUUID(), publicKey);
    expect(result.ok).toBe(false);
    expect(problems(result)).toEqual([[0, 'missing']]);
  });
});
