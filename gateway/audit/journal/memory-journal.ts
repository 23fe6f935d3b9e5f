import { GatehouseError } from '../../errors/gatehouse-error.ts';
import { comparePositions, type Journal, type JournalPosition } from './journal.ts';

/**
 * The journal of a gateway whose store is `memory://` (tests, the demo): the store dies with the
 * process, so a journal on disk would outlive nothing it could be shipped to. It still bounds
 * what is unshipped by `maxBytes`, so "journal full" behaves as on disk.
 */
export function createMemoryJournal(options: { maxBytes: number }): Journal {
  const chunks: Array<{ end: JournalPosition; bytes: number }> = [];
  let offset = 0;
  let total = 0;
  return {
    dir: null,
    recover: () => ({ unshipped: [], open: [], sealed: new Set(), problems: [] }),
    append(lines) {
      const bytes = Buffer.byteLength(lines);
      if (total + bytes > options.maxBytes) {
        return Promise.reject(
          new GatehouseError(
            'audit.journal-full',
            `the audit journal (in memory) is full: ${options.maxBytes} bytes of events are not yet in the store; commands are refused until the store ships them (raise audit.journal.max_bytes)`,
          ),
        );
      }
      offset += bytes;
      total += bytes;
      const end = { segment: 1, offset };
      chunks.push({ end, bytes });
      return Promise.resolve(end);
    },
    shipped(position) {
      while (chunks.length > 0 && comparePositions(chunks[0]!.end, position) <= 0) total -= chunks.shift()!.bytes;
    },
    bytes: () => total,
    close: () => Promise.resolve(),
  };
}
