import { createHash } from 'node:crypto';
import type { AuditEventRecord } from '../store/store.ts';
import { canonicalJson } from './canonical-json.ts';

/** The `prevHash` of a session's first event: every chain starts from the same known value. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers; `prevHash` links it to its predecessor. */
export type HashedFields = Pick<AuditEventRecord, 'sessionId' | 'seq' | 'type' | 'at' | 'data'>;

/** sha256(prevHash + canonical JSON of {sessionId, seq, type, at, data}), hex. */
export function eventHash(prevHash: string, event: HashedFields): string {
  const body = canonicalJson({
    sessionId: event.sessionId,
    seq: event.seq,
    type: event.type,
    at: event.at.toISOString(),
    data: event.data,
  });
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}

/** Where a chain stands: the next event gets `seq + 1` and `prevHash = hash`. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** Appends one event to a chain head, returning the stored record (with its data normalised to plain JSON). */
export function linkEvent(head: ChainHead, event: Omit<HashedFields, 'seq'>): AuditEventRecord {
  const seq = head.seq + 1;
  const data = JSON.parse(canonicalJson(event.data)) as Record<string, unknown>;
  const record = { sessionId: event.sessionId, seq, type: event.type, at: event.at, data };
  return { ...record, prevHash: head.hash, hash: eventHash(head.hash, record) };
}
