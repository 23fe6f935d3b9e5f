import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeChains } from '../../../gateway/audit/audit-log.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { getSessionLog } from '../../../gateway/audit/session-log.ts';
import { generateAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';
import { sessionRecord } from './session-record.ts';

const key = generateAuditSigningKey();
const start = { claims: { repository: 'acme/app' }, connection: 'app-db' };

describe.each(ENGINES)('one session over several recorders (replicas) on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('gives each replica its own chain, so concurrent writers are never refused, and verify proves both chains', async () => {
    const a = createRecorder({ store: ctx.store, key, gatewayId: 'gw-a' });
    const b = createRecorder({ store: ctx.store, key, gatewayId: 'gw-b' });
    const id = randomUUID();
    await ctx.store.createSession(sessionRecord(id));
    await a.sessionStarted(id, start);
    const writes = Array.from({ length: 400 }, (_, i) =>
      (i % 2 ? b : a).record(id, 'statement', { text: `SELECT ${i}`, decision: 'allow', rule: 'r' }),
    );
    expect((await Promise.allSettled(writes)).filter((r) => r.status === 'rejected')).toEqual([]);
    await a.sessionEnded(id, 'disconnect');
    await b.sessionEnded(id, 'disconnect');
    await Promise.all([a.flush(), b.flush()]);

    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: true, sealed: true, problems: [], events: 1 + 400 + 4 });
    expect(result.chains.map((c) => c.chain).sort()).toEqual([a.chain, b.chain].sort());
    const chains = await ctx.store.listAuditChains(id);
    expect(chains.map((c) => c.gateway).sort()).toEqual(['gw-a', 'gw-b']);

    const log = (await getSessionLog(ctx.store, id))!;
    expect(log.final_hash).toBe(result.finalHash);
    const texts = log.events.filter((e) => e.type === 'statement').map((e) => e.data.text);
    expect(new Set(texts).size).toBe(400);
    expect(log.events[0]!.type).toBe('session.start');
    const times = log.events.map((e) => e.at);
    expect([...times].sort()).toEqual(times);
  });

  it('says a registered chain without events is missing, so a lost journal is never a silent gap', async () => {
    const a = createRecorder({ store: ctx.store, key, gatewayId: 'gw-a' });
    const id = randomUUID();
    await a.sessionStarted(id, start);
    await a.sessionEnded(id, 'disconnect');
    await a.flush();
    await ctx.store.registerAuditChain({ sessionId: id, chain: 'lostjournal1', gateway: 'gw-c', openedAt: new Date() });
    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'missing-chain',
        chain: 'lostjournal1',
        message: expect.stringContaining('gw-c'),
      }),
    ]);
    expect((await getSessionLog(ctx.store, id))!.final_hash).toBeNull();
  });

  it('seals its chain of a session another replica ended without telling it', async () => {
    const a = createRecorder({ store: ctx.store, key, gatewayId: 'gw-a' });
    const b = createRecorder({ store: ctx.store, key, gatewayId: 'gw-b', sealSweepMs: 50 });
    const id = randomUUID();
    await ctx.store.createSession(sessionRecord(id));
    await a.sessionStarted(id, start);
    await b.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    await a.sessionEnded(id, 'revoked');
    await a.flush();
    for (let i = 0; i < 100 && !(await getSessionLog(ctx.store, id, { pending: b.pending }))?.final_hash; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await b.flush();
    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: true, problems: [] });
    const ends = mergeChains(await ctx.store.listAuditEvents(id)).filter((e) => e.type === 'session.end');
    expect(ends.map((e) => [e.chain, e.data.reason])).toEqual([
      [a.chain, 'revoked'],
      [b.chain, 'revoked'],
    ]);
  });

  it('ends a session it never wrote on no chain of its own when another replica holds one, and on its own when none does', async () => {
    const a = createRecorder({ store: ctx.store, key, gatewayId: 'gw-a' });
    const c = createRecorder({ store: ctx.store, key, gatewayId: 'gw-c' });
    const held = randomUUID();
    await ctx.store.createSession(sessionRecord(held));
    await a.sessionStarted(held, start);
    await a.flush();
    await c.sessionEnded(held, 'disconnect');
    await c.flush();
    expect((await ctx.store.listAuditChains(held)).map((x) => x.chain)).toEqual([a.chain]);
    expect((await ctx.store.getSession(held))?.endReason).toBe('disconnect');

    const bare = randomUUID();
    await ctx.store.createSession(sessionRecord(bare));
    await c.sessionEnded(bare, 'expired');
    await c.flush();
    expect((await ctx.store.listAuditEvents(bare)).map((e) => [e.chain, e.type])).toEqual([
      [c.chain, 'session.end'],
      [c.chain, 'seal'],
    ]);
  });
});
