import type { AuditEventRecord } from '../store/store.ts';
import type { AuditEventType, AuditEventWire } from '../../wire/audit-events.ts';

/** The stored event in its wire shape (snake_case, ISO time), as sinks and the log endpoint send it. */
export function toWireEvent(event: AuditEventRecord): AuditEventWire {
  return {
    session_id: event.sessionId,
    ...(event.chain ? { chain: event.chain } : {}),
    seq: event.seq,
    type: event.type as AuditEventType,
    at: event.at.toISOString(),
    data: event.data,
    prev_hash: event.prevHash,
    hash: event.hash,
  };
}

/** The inverse of {@link toWireEvent}, e.g. to verify an exported JSON-lines file. */
export function fromWireEvent(event: AuditEventWire): AuditEventRecord {
  return {
    sessionId: event.session_id,
    ...(event.chain ? { chain: event.chain } : {}),
    seq: event.seq,
    type: event.type,
    at: new Date(event.at),
    data: event.data,
    prevHash: event.prev_hash,
    hash: event.hash,
  };
}
