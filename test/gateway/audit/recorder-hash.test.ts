import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../gateway/audit/canonical-json.ts';
import { eventHash, GENESIS_HASH } from '../../../gateway/audit/hash-chain.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import type { AuditEventRecord, Store } from '../../../gateway/store/store.ts';

function memoryStore(): { store: Store; events: AuditEventRecord[] } {
  const events: AuditEventRecord[] = [];
  const store = {
    appendAuditEvents: async (batch: AuditEventRecord[]) => void events.push(...batch),
    lastAuditEvent: async (sessionId: string) => events.filter((e) => e.sessionId === sessionId).at(-1) ?? null,
  } as unknown as Store;
  return { store, events };
}

const sessionIds = fc.constantFrom('sess-a', 'sess-"b"', 'sess-\u00e9\u{1f600}', 'sess-\\c');

describe('recorder hash chain', () => {
  it('links every event with exactly the hash and canonical data that eventHash gives, whatever the data', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(sessionIds, fc.dictionary(fc.string(), fc.jsonValue())), { minLength: 1, maxLength: 12 }),
        async (writes) => {
          const { store, events } = memoryStore();
          const recorder = createRecorder({ store, clock: { now: () => new Date('2026-03-01T12:00:00.123Z') } });
          await Promise.all(writes.map(([sessionId, data]) => recorder.record(sessionId, 'statement', data as never)));
          expect(events).toHaveLength(writes.length);
          const heads = new Map<string, { seq: number; hash: string }>();
          for (const event of events) {
            const head = heads.get(event.sessionId) ?? { seq: 0, hash: GENESIS_HASH };
            expect(event.seq).toBe(head.seq + 1);
            expect(event.prevHash).toBe(head.hash);
            expect(event.hash).toBe(eventHash(event.prevHash, event));
            heads.set(event.sessionId, { seq: event.seq, hash: event.hash });
          }
          const bySession = writes.map(([sessionId, data]) => [sessionId, canonicalJson(data)]);
          expect(events.map((e) => [e.sessionId, canonicalJson(e.data)])).toEqual(bySession);
        },
      ),
      { numRuns: 150 },
    );
  });
});
