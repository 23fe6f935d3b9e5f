import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDiskJournal } from '../../../gateway/audit/journal/disk-journal.ts';
import { readJournal } from '../../../gateway/audit/journal/journal-reader.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { generateAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import type { AuditSink } from '../../../gateway/audit/sinks/audit-sink.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import type { AuditEventWire } from '../../../wire/audit-events.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';
import { sessionRecord } from './session-record.ts';

const fixedClock = { now: () => new Date('2026-03-01T12:00:00.000Z') };
const start = { claims: { repository: 'acme/app', run_id: '7' }, token_sha256: 'ab'.repeat(32), connection: 'app-db' };
const key = generateAuditSigningKey();

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

describe.each(ENGINES)('Recorder on $name', (engine) => {
  let ctx: EngineStore;
  const dirs: string[] = [];
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function journalDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-recorder-'));
    dirs.push(dir);
    return dir;
  }

  it('has an event in the journal file when record() resolves, and in the store after shipping', async () => {
    const dir = journalDir();
    const recorder = createRecorder({
      store: ctx.store,
      clock: fixedClock,
      key,
      journal: (checkpoint) => openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint }),
    });
    const id = randomUUID();
    await recorder.sessionStarted(id, start);
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'default' });
    const journaled = readJournal(dir, { repair: false }).unshipped.map((e) => e.record);
    expect(journaled.filter((r) => r.sessionId === id).map((r) => [r.seq, r.type])).toEqual([
      [1, 'session.start'],
      [2, 'statement'],
    ]);
    await recorder.flush();
    const events = await ctx.store.listAuditEvents(id);
    expect(events.map((e) => [e.chain, e.seq, e.type])).toEqual([
      [recorder.chain, 1, 'session.start'],
      [recorder.chain, 2, 'statement'],
    ]);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(events[0]!.at.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(await ctx.store.listAuditChains(id)).toMatchObject([{ chain: recorder.chain }]);
    await recorder.close();
  });

  it('commits to the store before record() resolves with durability store', async () => {
    const recorder = createRecorder({ store: ctx.store, key, durability: 'store' });
    const id = randomUUID();
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'default' });
    expect((await ctx.store.listAuditEvents(id)).map((e) => e.data.text)).toEqual(['SELECT 1']);
  });

  it('ships the events of many sessions in one store batch, each chain in call order', async () => {
    const recorder = createRecorder({ store: ctx.store, key });
    const a = randomUUID();
    const b = randomUUID();
    await Promise.all([recorder.sessionStarted(a, start), recorder.sessionStarted(b, start)]);
    await recorder.flush();
    const spy = vi.spyOn(ctx.store, 'shipAuditEvents');
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          recorder.record(i % 2 ? a : b, 'statement', { text: `SELECT ${i}`, decision: 'allow', rule: 'r' }),
        ),
      );
      await recorder.flush();
      // Other tests' recorders share the store and may ship meanwhile: count this test's batches only.
      const ours = spy.mock.calls.filter(([events]) => events.some((e) => e.sessionId === a || e.sessionId === b));
      expect(ours).toHaveLength(1);
      expect(ours[0]![0]).toHaveLength(20);
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
    const recorder = createRecorder({ store: ctx.store, key });
    const id = randomUUID();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        [0, 1, 2, 3].map((i) =>
          recorder.record(id, 'statement', { text: `SELECT ${round}.${i}`, decision: 'allow', rule: 'r' }),
        ),
      );
    }
    await recorder.flush();
    expect((await ctx.store.lastAuditEvent(id, recorder.chain))?.seq).toBe(40);
  }, 15_000);

  it('seals an ended session so it verifies, refuses later events, and ends it only once', async () => {
    const sink = memorySink();
    const recorder = createRecorder({ store: ctx.store, sinks: [sink], key });
    const id = randomUUID();
    await ctx.store.createSession(sessionRecord(id));
    await recorder.sessionStarted(id, start);
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    await recorder.sessionEnded(id, 'disconnect');
    await recorder.sessionEnded(id, 'expired');
    await expect(
      recorder.record(id, 'statement', { text: 'SELECT 2', decision: 'allow', rule: 'r' }),
    ).rejects.toMatchObject({ code: 'audit.session-closed' });
    await recorder.flush();

    const events = await ctx.store.listAuditEvents(id);
    expect(events.map((e) => e.type)).toEqual(['session.start', 'statement', 'session.end', 'seal']);
    expect(events[2]!.data.reason).toBe('disconnect');
    expect((await ctx.store.getSession(id))?.endReason).toBe('disconnect');
    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: true, events: 4, sealed: true, signatureOk: true, problems: [] });
    expect(result.finalHash).toMatch(/^[0-9a-f]{64}$/);
    expect(sink.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(sink.events[3]!.type).toBe('seal');
  });

  it('rejects only the event whose data is not JSON and snapshots data when called', async () => {
    const recorder = createRecorder({ store: ctx.store, key });
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
    await recorder.flush();
    expect((await ctx.store.listAuditEvents(id)).map((e) => e.data.text)).toEqual(['SELECT 1']);
  });

  it('ships events even when a sink throws', async () => {
    const broken: AuditSink = {
      name: 'broken',
      write: () => {
        throw new Error('disk full');
      },
      stats: () => ({ queued: 0, delivered: 0, dropped: 0, failed: 0 }),
      close: async () => {},
    };
    const good = memorySink();
    const recorder = createRecorder({ store: ctx.store, sinks: [broken, good], key });
    const id = randomUUID();
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    await recorder.flush();
    expect(good.events.map((e) => e.session_id)).toEqual([id]);
    expect(await ctx.store.listAuditEvents(id)).toHaveLength(1);
  });

  it('keeps only the configured number of sample rows and skips samples when it is zero', async () => {
    const id = randomUUID();
    const rows = [[1], ['x'.repeat(1000)], [3], [4]];
    const two = createRecorder({ store: ctx.store, sampleRows: 2, durability: 'store' });
    await two.record(id, 'result.sample', { columns: ['n'], rows });
    await createRecorder({ store: ctx.store, sampleRows: 0 }).record(id, 'result.sample', { columns: ['n'], rows });
    const events = await ctx.store.listAuditEvents(id);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({ columns: ['n'], rows: [[1], [`${'x'.repeat(255)}…`]], truncated: true });
  });

  it('refuses to write session.end, chain.end or seal through record()', async () => {
    const recorder = createRecorder({ store: ctx.store });
    for (const type of ['session.end', 'chain.end', 'seal'])
      await expect(
        recorder.record(randomUUID(), type as 'statement', { text: '', decision: 'allow', rule: 'r' }),
      ).rejects.toMatchObject({ code: 'audit.invalid-event' });
  });

  it('refuses event types outside the shared vocabulary', async () => {
    const recorder = createRecorder({ store: ctx.store });
    await expect(
      recorder.record(randomUUID(), 'made.up' as 'statement', { text: '', decision: 'allow', rule: 'r' }),
    ).rejects.toMatchObject({ code: 'audit.invalid-event' });
  });

  it('serves events not yet shipped to readers that merge them in', async () => {
    const recorder = createRecorder({ store: ctx.store, key });
    const id = randomUUID();
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'r' });
    expect(recorder.pending(id).map((e) => e.data.text)).toEqual(['SELECT 1']);
    await recorder.flush();
    expect(recorder.pending(id)).toEqual([]);
  });
});
