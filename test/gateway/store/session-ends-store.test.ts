import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgExecutor } from '../../../gateway/store/pg-executor.ts';
import { SqlStore } from '../../../gateway/store/sql-store.ts';
import type { EndedSession, SessionRecord } from '../../../gateway/store/store.ts';
import { ENGINES, type EngineStore } from './store-engines.ts';

function session(expiresAt: string): SessionRecord {
  const id = randomUUID();
  return {
    id,
    tokenHash: `hash-${id}`,
    identityRule: 'ci',
    claims: { repository: 'acme/app' },
    connections: ['app-db'],
    createdAt: new Date('2026-01-01T10:00:00.000Z'),
    expiresAt: new Date(expiresAt),
    endedAt: null,
    endReason: null,
    sshKeys: [],
  };
}

describe.each(ENGINES)('session ends in the store on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('says which call ended a session first and lists ended sessions among given ids', async () => {
    const [a, b] = [session('2026-01-01T10:15:00.000Z'), session('2026-01-01T10:15:00.000Z')];
    await ctx.store.createSession(a);
    await ctx.store.createSession(b);
    expect(await ctx.store.endSession(a.id, 'revoked', new Date('2026-01-01T10:01:00.000Z'))).toBe(true);
    expect(await ctx.store.endSession(a.id, 'disconnect', new Date('2026-01-01T10:02:00.000Z'))).toBe(false);
    expect(await ctx.store.endSession('no-such-session', 'revoked', new Date())).toBe(false);
    expect(await ctx.store.listEndedSessions([a.id, b.id, 'no-such-session'])).toEqual([
      { id: a.id, reason: 'revoked' },
    ]);
    expect(await ctx.store.listEndedSessions([])).toEqual([]);
  });

  it('sweeps sessions past expiry once, dated at their expiry, and leaves live ones open', async () => {
    const past = session('2026-01-01T10:05:00.000Z');
    const future = session('2026-01-01T11:00:00.000Z');
    await ctx.store.createSession(past);
    await ctx.store.createSession(future);
    const now = new Date('2026-01-01T10:30:00.000Z');
    const swept = await ctx.store.endExpiredSessions(now);
    expect(swept).toContainEqual({ id: past.id, reason: 'expired' });
    expect(swept.map((s) => s.id)).not.toContain(future.id);
    expect(await ctx.store.endExpiredSessions(now)).toEqual([]);
    const ended = await ctx.store.getSession(past.id);
    expect(ended?.endedAt?.toISOString()).toBe('2026-01-01T10:05:00.000Z');
    expect((await ctx.store.getSession(future.id))?.endedAt).toBeNull();
  });
});

describe.each(ENGINES.filter((e) => e.name === 'postgres'))('session ends across replicas on $name', (engine) => {
  let ctx: EngineStore;
  let replica: SqlStore;
  beforeAll(async () => {
    ctx = await engine.open();
    replica = new SqlStore(createPgExecutor(ctx.location, { max: 2 }));
  });
  afterAll(async () => {
    await replica?.close();
    await ctx?.drop();
  });

  it('tells another replica of an end, a revocation and a sweep, with the reason', async () => {
    const heard: EndedSession[] = [];
    const stop = replica.onSessionEnded!((ended) => heard.push(ended));
    await new Promise((r) => setTimeout(r, 300));
    const revoked = session('2026-01-01T11:00:00.000Z');
    const expired = session('2026-01-01T10:05:00.000Z');
    await ctx.store.createSession(revoked);
    await ctx.store.createSession(expired);
    await ctx.store.endSession(revoked.id, 'revoked', new Date('2026-01-01T10:01:00.000Z'));
    await ctx.store.endSession(revoked.id, 'disconnect', new Date('2026-01-01T10:02:00.000Z'));
    await ctx.store.endExpiredSessions(new Date('2026-01-01T10:30:00.000Z'));
    for (let i = 0; i < 40 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    stop();
    expect(heard).toEqual([
      { id: revoked.id, reason: 'revoked' },
      { id: expired.id, reason: 'expired' },
    ]);
  });
});
