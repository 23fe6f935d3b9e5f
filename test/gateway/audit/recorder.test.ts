import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { loadAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import type { AuditSink } from '../../../gateway/audit/sinks/audit-sink.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import { GatehouseError } from '../../../gateway/errors/gatehouse-error.ts';
import type { SessionRecord } from '../../../gateway/store/store.ts';
import type { AuditEventWire } from '../../../wire/audit-events.ts';
import { withAdmin } from '../../support/pg-target.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

const fixedClock = { now: () => new Date('2026-03-01T12:00:00.000Z') };
const start = { claims: { repository: 'acme/app', run_id: '7' }, token_sha256: 'ab'.repeat(32), connection: 'app-db' };

function sessionRecord(id: string): SessionRecord {
  return {
    id,
    tokenHash: `t-${id}`,
    identityRule: 'main',
    claims: { repository: 'acme/app' },
    connections: ['app-db'],
    createdAt: new Date('2026-03-01T12:00:00.000Z'),
    expiresAt: new Date('2026-03-01T12:15:00.000Z'),
    endedAt: null,
    endReason: null,
    sshKeys: [],
  };
}

function memorySink(): AuditSink & { events: AuditEventWire[] } {
  const events: AuditEventWire[] = [];
  return {
    name: 'memory',
    events,
    write(event) {
      events.push(event);
    },
    stats: () => ({ queued: 0, delivered: events.length, dropped: 0, failed: 0 }),
    close: async () => {},
  };
}

async function expectUnavailable(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  expect((error as GatehouseError).code).toBe('audit.unavailable');
  expect((error as GatehouseError).message).toMatch(/best-effort/);
}

describe.each(ENGINES)('Recorder on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('makes an event durable before record() resolves', async () => {
    const recorder = createRecorder({ store: ctx.store, clock: fixedClock });
    const id = randomUUID();
    await recorder.sessionStarted(id, start);
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'default' });
    const events = await ctx.store.listAuditEvents(id);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'session.start'],
      [2, 'statement'],
    ]);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(events[0]!.at.toISOString()).toBe('2026-03-01T12:00:00.000Z');
  });

  it('tells the caller the sequence number of its event so a result can point at its statement', async () => {
    const recorder = createRecorder({ store: ctx.store });
    const id = randomUUID();
    await recorder.sessionStarted(id, start);
    const [first, second] = await Promise.all([
      recorder.recordEvent(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' }),
      recorder.recordEvent(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r' }),
    ]);
    expect([first, second]).toEqual([2, 3]);
    expect(
      await createRecorder({ store: ctx.store, sampleRows: 0 }).recordEvent(id, 'result.sample', {
        columns: [],
        rows: [],
      }),
    ).toBeNull();
  });

  it('writes events of the same tick in one transaction, in call order, across sessions', async () => {
    const recorder = createRecorder({ store: ctx.store });
    const a = randomUUID();
    const b = randomUUID();
    const spy = vi.spyOn(ctx.store, 'appendAuditEvents');
    try {
      await Promise.all([
        recorder.sessionStarted(a, start),
        recorder.sessionStarted(b, start),
        ...Array.from({ length: 20 }, (_, i) =>
          recorder.record(i % 2 ? a : b, 'statement', { text: `SELECT ${i}`, decision: 'allow', rule: 'r' }),
        ),
      ]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]![0]).toHaveLength(22);
    } finally {
      spy.mockRestore();
    }
    const texts = (await ctx.store.listAuditEvents(a)).slice(1).map((e) => e.data.text);
    expect(texts).toEqual([
      'SELECT 1',
      'SELECT 3',
      'SELECT 5',
      'SELECT 7',
      'SELECT 9',
      'SELECT 11',
      'SELECT 13',
      'SELECT 15',
      'SELECT 17',
      'SELECT 19',
    ]);
  });

  it('keeps acknowledging events recorded from the continuations of earlier ones', async () => {
    const recorder = createRecorder({ store: ctx.store });
    const id = randomUUID();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        [0, 1, 2, 3].map((i) =>
          recorder.record(id, 'statement', { text: `SELECT ${round}.${i}`, decision: 'allow', rule: 'r' }),
        ),
      );
    }
    expect((await ctx.store.lastAuditEvent(id))?.seq).toBe(40);
  }, 15_000);

  it('seals an ended session so it verifies, refuses later events, and ends it only once', async () => {
    const sink = memorySink();
    const recorder = createRecorder({ store: ctx.store, sinks: [sink] });
    const id = randomUUID();
    await ctx.store.createSession(sessionRecord(id));
    await recorder.sessionStarted(id, start);
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    await recorder.sessionEnded(id, 'disconnect');
    await recorder.sessionEnded(id, 'expired');
    await expect(
      recorder.record(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r' }),
    ).rejects.toMatchObject({
      code: 'audit.session-closed',
    });

    const events = await ctx.store.listAuditEvents(id);
    expect(events.map((e) => e.type)).toEqual(['session.start', 'statement', 'session.end', 'seal']);
    expect(events[2]!.data.reason).toBe('disconnect');
    expect((await ctx.store.getSession(id))?.endReason).toBe('disconnect');
    const key = await loadAuditSigningKey(ctx.store);
    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: true, events: 4, sealed: true, signatureOk: true, problems: [] });
    expect(sink.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(sink.events[3]!.type).toBe('seal');
  });

  it('rejects only the event whose data is not JSON and snapshots data when called', async () => {
    const recorder = createRecorder({ store: ctx.store });
    const id = randomUUID();
    const data = { text: 'SELECT 1', decision: 'allow', rule: 'r' };
    const pending = [
      recorder.record(id, 'statement', data),
      recorder.record(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r', big: 10n }),
    ];
    data.text = 'changed after the call';
    const results = await Promise.allSettled(pending);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'audit.invalid-data' } });
    expect((await ctx.store.listAuditEvents(id)).map((e) => e.data.text)).toEqual(['SELECT 1']);
  });

  it('acknowledges events even when a sink throws', async () => {
    const broken: AuditSink = {
      name: 'broken',
      write: () => {
        throw new Error('disk full');
      },
      stats: () => ({ queued: 0, delivered: 0, dropped: 0, failed: 0 }),
      close: async () => {},
    };
    const good = memorySink();
    const recorder = createRecorder({ store: ctx.store, sinks: [broken, good] });
    const id = randomUUID();
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    expect(good.events.map((e) => e.session_id)).toEqual([id]);
    expect(await ctx.store.listAuditEvents(id)).toHaveLength(1);
  });

  it('keeps only the configured number of sample rows and skips samples when it is zero', async () => {
    const id = randomUUID();
    const rows = [[1], ['x'.repeat(1000)], [3], [4]];
    await createRecorder({ store: ctx.store, sampleRows: 2 }).record(id, 'result.sample', { columns: ['n'], rows });
    await createRecorder({ store: ctx.store, sampleRows: 0 }).record(id, 'result.sample', { columns: ['n'], rows });
    const events = await ctx.store.listAuditEvents(id);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({ columns: ['n'], rows: [[1], [`${'x'.repeat(255)}…`]], truncated: true });
  });

  it('refuses to write session.end or seal through record()', async () => {
    const recorder = createRecorder({ store: ctx.store });
    await expect(
      recorder.record(randomUUID(), 'session.end' as 'statement', { text: '', decision: 'allow', rule: 'r' }),
    ).rejects.toMatchObject({
      code: 'audit.invalid-event',
    });
  });

  it('refuses event types outside the shared vocabulary', async () => {
    const recorder = createRecorder({ store: ctx.store });
    await expect(
      recorder.record(randomUUID(), 'made.up' as 'statement', { text: '', decision: 'allow', rule: 'r' }),
    ).rejects.toMatchObject({
      code: 'audit.invalid-event',
    });
  });

  it('continues a chain another recorder (replica) appended to', async () => {
    const id = randomUUID();
    const one = createRecorder({ store: ctx.store });
    const two = createRecorder({ store: ctx.store });
    await one.sessionStarted(id, start);
    await one.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    await two.record(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r' });
    await one.record(id, 'statement', { text: 'SELECT 3', decision: 'allow', rule: 'r' });
    await two.sessionEnded(id, 'client-closed');
    const result = await verifySession(ctx.store, id, (await loadAuditSigningKey(ctx.store)).publicKey);
    expect(result.ok).toBe(true);
    expect((await ctx.store.listAuditEvents(id)).map((e) => e.data.text ?? e.type)).toEqual([
      'session.start',
      'SELECT 1',
      'SELECT 2',
      'SELECT 3',
      'session.end',
      'seal',
    ]);
  });

  it('closes orphaned sessions of its own gateway with gateway-restart and leaves other gateways alone', async () => {
    const mine = randomUUID();
    const theirs = randomUUID();
    await ctx.store.createSession(sessionRecord(mine));
    await ctx.store.createSession(sessionRecord(theirs));
    await createRecorder({ store: ctx.store, gatewayId: 'gw-1' }).sessionStarted(mine, start);
    await createRecorder({ store: ctx.store, gatewayId: 'gw-2' }).sessionStarted(theirs, start);

    const closed = await createRecorder({ store: ctx.store, gatewayId: 'gw-1' }).closeOrphans('gateway-restart', {
      gatewayId: 'gw-1',
    });
    expect(closed).toContain(mine);
    expect(closed).not.toContain(theirs);
    expect((await ctx.store.getSession(mine))?.endReason).toBe('gateway-restart');
    expect((await ctx.store.getSession(theirs))?.endedAt).toBeNull();
    const key = await loadAuditSigningKey(ctx.store);
    expect((await verifySession(ctx.store, mine, key.publicKey)).ok).toBe(true);
  });
});

describe.each(ENGINES)('Recorder during a store outage on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  if (engine.name === 'postgres') {
    it('rejects with audit.unavailable while the database refuses connections and recovers after', async () => {
      const recorder = createRecorder({ store: ctx.store });
      const id = randomUUID();
      await recorder.sessionStarted(id, start);
      const database = decodeURIComponent(new URL(ctx.location).pathname.slice(1));
      await withAdmin(async (c) => {
        await c.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
        await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database],
        );
      });
      try {
        await expectUnavailable(recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' }));
      } finally {
        await withAdmin((c) => c.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`));
      }
      await recorder.record(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r' });
      await recorder.sessionEnded(id, 'client-closed');
      const result = await verifySession(ctx.store, id, (await loadAuditSigningKey(ctx.store)).publicKey);
      expect(result.ok).toBe(true);
      expect((await ctx.store.listAuditEvents(id)).map((e) => e.data.text ?? e.type)).toEqual([
        'session.start',
        'SELECT 2',
        'session.end',
        'seal',
      ]);
    });
  }

  it('rejects every queued event with audit.unavailable once the store is closed', async () => {
    const recorder = createRecorder({ store: ctx.store });
    const id = randomUUID();
    await recorder.sessionStarted(id, start);
    await ctx.store.close();
    await Promise.all([
      expectUnavailable(recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' })),
      expectUnavailable(recorder.record(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r' })),
      expectUnavailable(recorder.sessionEnded(id, 'disconnect')),
    ]);
  });
});
