import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDiskJournal } from '../../../gateway/audit/journal/disk-journal.ts';
import type { Journal } from '../../../gateway/audit/journal/journal.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { generateAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';
import { sessionRecord } from './session-record.ts';

const key = generateAuditSigningKey();
const start = { claims: { repository: 'acme/app' }, connection: 'app-db' };

describe.each(ENGINES)('recovery after a crash on $name', (engine) => {
  let ctx: EngineStore;
  const dirs: string[] = [];
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function newDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-recovery-'));
    dirs.push(dir);
    return dir;
  }

  /** A gateway's recorder on journal `dir`; `crash()` drops it as a killed process would (after shipping). */
  function gateway(dir: string, gatewayId = 'gw-1', log: string[] = []) {
    let journal: Journal | undefined;
    const recorder = createRecorder({
      store: ctx.store,
      key,
      gatewayId,
      sealSweepMs: 0,
      log: (m) => log.push(m),
      journal: (checkpoint) => (journal = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint })),
    });
    return {
      recorder,
      async crash() {
        await recorder.flush();
        await journal!.close();
      },
    };
  }

  async function tamper(sql: string): Promise<void> {
    await ctx.sql.transaction((tx) =>
      tx.exec(
        `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only; ${sql}; ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`,
      ),
    );
  }

  async function startedSession(recorder: ReturnType<typeof gateway>['recorder'], statements = 1): Promise<string> {
    const id = randomUUID();
    await ctx.store.createSession(sessionRecord(id));
    await recorder.sessionStarted(id, start);
    for (let i = 0; i < statements; i++)
      await recorder.record(id, 'statement', { text: `SELECT ${i}`, decision: 'allow', rule: 'r' });
    return id;
  }

  it('seals the chains its crashed predecessor left open and ends the sessions it started, and no other', async () => {
    const dir = newDir();
    const one = gateway(dir, 'gw-1');
    const two = gateway(newDir(), 'gw-2');
    const mine = await startedSession(one.recorder);
    const theirs = await startedSession(two.recorder);
    await one.crash();
    await two.crash();

    const again = gateway(dir, 'gw-1');
    expect(await again.recorder.closeOrphans('gateway-restart', { gatewayId: 'gw-1' })).toEqual([mine]);
    await again.recorder.flush();
    expect((await ctx.store.getSession(mine))?.endReason).toBe('gateway-restart');
    expect((await ctx.store.getSession(theirs))?.endedAt).toBeNull();
    expect((await ctx.store.listAuditChains(mine)).map((c) => c.chain)).toEqual([one.recorder.chain]);
    expect((await verifySession(ctx.store, mine, key.publicKey)).ok).toBe(true);
    expect((await verifySession(ctx.store, theirs, key.publicKey)).sealed).toBe(false);
  });

  it('closes a recovered chain of a session already ended elsewhere with chain.end, not a second end', async () => {
    const dir = newDir();
    const one = gateway(dir);
    const id = await startedSession(one.recorder);
    await one.crash();
    await ctx.store.endSession(id, 'revoked', new Date());

    const again = gateway(dir);
    expect(await again.recorder.closeOrphans('gateway-restart', { gatewayId: 'gw-1' })).toEqual([]);
    await again.recorder.flush();
    const events = await ctx.store.listAuditEvents(id);
    expect(events.slice(-2).map((e) => [e.type, e.data.reason ?? null])).toEqual([
      ['chain.end', 'gateway-restart'],
      ['seal', null],
    ]);
    expect((await ctx.store.getSession(id))?.endReason).toBe('revoked');
    expect((await verifySession(ctx.store, id, key.publicKey)).ok).toBe(true);
  });

  it('never launders a cut tail: a sealed chain whose end and seal were deleted stays unsealed after restarts', async () => {
    const dir = newDir();
    const one = gateway(dir);
    const id = await startedSession(one.recorder);
    await one.recorder.sessionEnded(id, 'disconnect');
    await one.recorder.close();
    await tamper(`DELETE FROM audit_events WHERE session_id = '${id}' AND seq >= 3`);

    const again = gateway(dir);
    expect(await again.recorder.closeOrphans('gateway-restart', { gatewayId: 'gw-1' })).toEqual([]);
    await again.recorder.close();
    let result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: false, sealed: false, events: 2 });

    await ctx.sql.query('UPDATE sessions SET ended_at = NULL, end_reason = NULL WHERE id = $1', [id]);
    const third = gateway(dir);
    expect(await third.recorder.closeOrphans('gateway-restart', { gatewayId: 'gw-1' })).toEqual([id]);
    await third.recorder.flush();
    result = await verifySession(ctx.store, id, key.publicKey);
    expect(result.ok).toBe(false);
    expect(result.chains.find((c) => c.chain === one.recorder.chain)).toMatchObject({ sealed: false });
    expect(result.problems.map((p) => [p.chain, p.kind])).toEqual([[one.recorder.chain, 'unsealed']]);
  });

  it('leaves an open chain unsealed, and says so, when the store no longer ends where the journal does', async () => {
    const dir = newDir();
    const one = gateway(dir);
    const id = await startedSession(one.recorder, 3);
    await one.crash();
    await tamper(`DELETE FROM audit_events WHERE session_id = '${id}' AND seq = 4`);

    const log: string[] = [];
    const again = gateway(dir, 'gw-1', log);
    expect(await again.recorder.closeOrphans('gateway-restart', { gatewayId: 'gw-1' })).toEqual([id]);
    await again.recorder.flush();
    expect(log).toEqual([expect.stringMatching(/does not end in the store where this gateway's journal says/)]);
    expect((await ctx.store.getSession(id))?.endReason).toBe('gateway-restart');
    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: false, sealed: false, events: 3 });
  });
});
