import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../gateway/audit/canonical-json.ts';
import { eventHash, GENESIS_HASH } from '../../../gateway/audit/hash-chain.ts';
import { openDiskJournal } from '../../../gateway/audit/journal/disk-journal.ts';
import { readJournal } from '../../../gateway/audit/journal/journal-reader.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import type { AuditEventRecord, Store } from '../../../gateway/store/store.ts';

function memoryStore(): { store: Store; events: AuditEventRecord[] } {
  const events: AuditEventRecord[] = [];
  const store = {
    shipAuditEvents: async (batch: AuditEventRecord[]) => {
      events.push(...batch);
      return [];
    },
    registerAuditChain: async () => {},
  } as unknown as Store;
  return { store, events };
}

const sessionIds = fc.constantFrom('sess-a', 'sess-"b"', 'sess-\u00e9\u{1f600}', 'sess-\\c');

describe('recorder hash chain', () => {
  it('links every event with exactly the hash and canonical data that eventHash gives, and journals the same bytes, whatever the data', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(sessionIds, fc.dictionary(fc.string(), fc.jsonValue())), { minLength: 1, maxLength: 12 }),
        async (writes) => {
          const { store, events } = memoryStore();
          const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-hash-'));
          try {
            const recorder = createRecorder({
              store,
              clock: { now: () => new Date('2026-03-01T12:00:00.123Z') },
              journal: (checkpoint) => openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint }),
              sealSweepMs: 0,
            });
            await Promise.all(
              writes.map(([sessionId, data]) => recorder.record(sessionId, 'statement', data as never)),
            );
            await recorder.flush();
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
            const journal = readJournal(dir, { repair: false });
            expect(journal.problems).toEqual([]);
            expect(journal.open.map((h) => [h.sessionId, h.seq, h.hash]).sort()).toEqual(
              [...heads].map(([sessionId, h]) => [sessionId, h.seq, h.hash]).sort(),
            );
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
