import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { getSessionLog } from '../../../gateway/audit/session-log.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

describe.each(ENGINES)('getSessionLog on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('returns the recorded events in wire form with the end reason and seal state', async () => {
    let tick = 0;
    const recorder = createRecorder({
      store: ctx.store,
      clock: { now: () => new Date(Date.UTC(2026, 2, 1, 12, 0, tick++)) },
    });
    const id = randomUUID();
    await recorder.sessionStarted(id, { claims: { repository: 'acme/app' }, connection: 'app-db' });
    await recorder.record(id, 'statement', {
      text: 'SELECT email FROM customers',
      params: ['***'],
      decision: 'allow',
      rule: 'r',
    });
    const open = await getSessionLog(ctx.store, id, { pending: recorder.pending });
    expect(open).toMatchObject({ session_id: id, status: 'open', sealed: false, end_reason: null, ended_at: null });
    expect(open!.started_at).toBe('2026-03-01T12:00:00.000Z');

    await recorder.sessionEnded(id, 'disconnect');
    const log = await getSessionLog(ctx.store, id, { pending: recorder.pending });
    expect(log).toMatchObject({ status: 'ended', sealed: true, end_reason: 'disconnect' });
    expect(log!.final_hash).toMatch(/^[0-9a-f]{64}$/);
    await recorder.flush();
    expect((await getSessionLog(ctx.store, id))!.final_hash).toBe(log!.final_hash);
    expect(log!.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'session.start'],
      [2, 'statement'],
      [3, 'session.end'],
      [4, 'seal'],
    ]);
    expect(log!.events[1]).toMatchObject({ session_id: id, at: '2026-03-01T12:00:01.000Z', data: { params: ['***'] } });
    expect(log!.events[1]!.prev_hash).toBe(log!.events[0]!.hash);
  });

  it('returns null for a session it knows nothing about', async () => {
    expect(await getSessionLog(ctx.store, randomUUID())).toBeNull();
  });
});
