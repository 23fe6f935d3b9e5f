import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { AuditEventRecord, Store } from '../store/store.ts';
import {
  AUDIT_EVENT_TYPES,
  type AuditEventData,
  type AuditEventType,
  type SessionEndReason,
} from '../../wire/audit-events.ts';
import { canonicalJson } from './canonical-json.ts';
import { EMPTY_CHAIN, linkCanonicalEvent, linkEvent, type ChainHead } from './hash-chain.ts';
import { loadAuditSigningKey, signSeal, type AuditSigningKey } from './signing-key.ts';
import type { AuditSink } from './sinks/audit-sink.ts';
import { toWireEvent } from './wire-event.ts';

/** Where event timestamps come from; tests pass a fixed clock. */
export interface RecorderClock {
  now(): Date;
}

/** What the recorder writes to and how much it keeps; the store and clock are passed in so tests and replicas choose them. */
export interface RecorderOptions {
  store: Store;
  clock?: RecorderClock;
  /** Rows kept in a `result.sample` event (config `audit.sampleRows`); 0 drops samples. */
  sampleRows?: number;
  /** Export sinks: get each event after it is durable, never slow the data path. */
  sinks?: readonly AuditSink[];
  /** Stamped into `session.start` so a replica's restart can close only its own sessions. */
  gatewayId?: string;
}

/**
 * Writes every session's hash-chained event log. `record` resolves only once the event is in
 * the store (events of the same tick share one transaction), so an adapter can forward a
 * statement knowing its audit trail exists; when the store cannot be written it rejects with
 * `audit.unavailable` and the adapter refuses the statement (unless `audit: best-effort`).
 */
export interface Recorder {
  sessionStarted(sessionId: string, data: AuditEventData['session.start']): Promise<void>;
  record<T extends Exclude<AuditEventType, 'session.end' | 'seal'>>(
    sessionId: string,
    type: T,
    data: AuditEventData[T],
  ): Promise<void>;
  /** Like `record`, resolving to the event's sequence number (null when nothing was written, e.g. samples off) so a later event can point at it (`statement_seq`). */
  recordEvent<T extends Exclude<AuditEventType, 'session.end' | 'seal'>>(
    sessionId: string,
    type: T,
    data: AuditEventData[T],
  ): Promise<number | null>;
  /** Appends `session.end`, seals the chain with the gateway key and ends the stored session; idempotent. */
  sessionEnded(sessionId: string, reason: SessionEndReason, data?: Record<string, unknown>): Promise<void>;
  /** Crash recovery: ends and seals every session left open (by this gateway, with `gatewayId`); returns their ids. */
  closeOrphans(reason?: SessionEndReason, options?: { gatewayId?: string }): Promise<string[]>;
  /** Waits until everything queued so far is written. */
  flush(): Promise<void>;
  /** Flushes and closes the sinks (not the store, which the caller owns). */
  close(): Promise<void>;
}

interface Pending {
  sessionId: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
  /** `data` as canonical JSON, computed once at enqueue. */
  canonical: string;
  seal: boolean;
  resolve: (seq: number | null) => void;
  reject: (error: unknown) => void;
}

interface Chain extends ChainHead {
  sealed: boolean;
}

const MAX_CONFLICT_RETRIES = 5;
const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(AUDIT_EVENT_TYPES));

export function createRecorder(options: RecorderOptions): Recorder {
  const { store } = options;
  const clock = options.clock ?? { now: () => new Date() };
  const sampleRows = options.sampleRows ?? 10;
  const sinks = options.sinks ?? [];
  const chains = new Map<string, Chain>();
  let queue: Pending[] = [];
  let running = false;
  let worker: Promise<void> = Promise.resolve();
  let signingKey: Promise<AuditSigningKey> | null = null;

  function enqueue(
    sessionId: string,
    type: string,
    data: Record<string, unknown>,
    seal = false,
  ): Promise<number | null> {
    let canonical: string;
    let snapshot: Record<string, unknown>;
    try {
      canonical = canonicalJson(data);
      snapshot = JSON.parse(canonical) as Record<string, unknown>;
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number | null>((resolve, reject) => {
      queue.push({ sessionId, type, at: clock.now(), data: snapshot, canonical, seal, resolve, reject });
      if (!running) {
        running = true;
        worker = drain();
      }
    });
  }

  async function drain(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      await writeBatch(batch).catch((error: unknown) => {
        for (const item of batch) item.reject(unavailable(error));
      });
    }
    running = false;
  }

  async function chainOf(sessionId: string): Promise<Chain> {
    const cached = chains.get(sessionId);
    if (cached) return cached;
    const last = await store.lastAuditEvent(sessionId);
    const chain = last
      ? { seq: last.seq, hash: last.hash, sealed: last.type === 'seal' }
      : { ...EMPTY_CHAIN, sealed: false };
    chains.set(sessionId, chain);
    return chain;
  }

  function key(): Promise<AuditSigningKey> {
    signingKey ??= loadAuditSigningKey(store).catch((error) => {
      signingKey = null;
      throw error;
    });
    return signingKey;
  }

  async function writeBatch(batch: Pending[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { records, heads, accepted, refused } = await link(batch);
        await store.appendAuditEvents(records);
        for (const [sessionId, head] of heads) {
          if (head.sealed) chains.delete(sessionId);
          else chains.set(sessionId, head);
        }
        for (const item of refused) item.resolve(null);
        for (const { item, seq } of accepted) item.resolve(seq);
        publish(records);
        return;
      } catch (error) {
        for (const item of batch) chains.delete(item.sessionId);
        if (isUniqueViolation(error) && attempt < MAX_CONFLICT_RETRIES) continue;
        const failure = unavailable(error);
        for (const item of batch) item.reject(failure);
        return;
      }
    }
  }

  async function link(batch: Pending[]) {
    const heads = new Map<string, Chain>();
    const records: AuditEventRecord[] = [];
    const accepted: Array<{ item: Pending; seq: number }> = [];
    const refused: Pending[] = [];
    for (const item of batch) {
      const head = heads.get(item.sessionId) ?? { ...(await chainOf(item.sessionId)) };
      if (head.sealed) {
        if (!item.seal) {
          item.reject(
            new GatehouseError(
              'audit.session-closed',
              `session ${item.sessionId} has ended; open a new session to run more commands`,
            ),
          );
        } else {
          refused.push(item);
        }
        continue;
      }
      const event = linkCanonicalEvent(head, item, item.canonical);
      records.push(event);
      let next: Chain = { seq: event.seq, hash: event.hash, sealed: false };
      if (item.seal) {
        const signer = await key();
        const seal = linkEvent(next, {
          sessionId: item.sessionId,
          type: 'seal',
          at: item.at,
          data: {
            final_seq: event.seq,
            final_hash: event.hash,
            algorithm: 'ed25519',
            key_id: signer.keyId,
            signature: signSeal(signer, item.sessionId, event.seq, event.hash),
          },
        });
        records.push(seal);
        next = { seq: seal.seq, hash: seal.hash, sealed: true };
      }
      heads.set(item.sessionId, next);
      accepted.push({ item, seq: event.seq });
    }
    return { records, heads, accepted, refused };
  }

  function publish(records: AuditEventRecord[]): void {
    if (sinks.length === 0) return;
    for (const record of records) {
      const wire = toWireEvent(record);
      for (const sink of sinks) {
        try {
          sink.write(wire);
        } catch {
          // A sink's failure is counted by the sink; it must never reach the data path.
        }
      }
    }
  }

  const recorder: Recorder = {
    async sessionStarted(sessionId, data) {
      await enqueue(
        sessionId,
        'session.start',
        options.gatewayId ? { ...data, gateway: options.gatewayId } : { ...data },
      );
    },
    async record(sessionId, type, data) {
      await recorder.recordEvent(sessionId, type, data);
    },
    recordEvent(sessionId, type, data) {
      if ((type as string) === 'session.end' || (type as string) === 'seal') {
        return Promise.reject(
          new GatehouseError(
            'audit.invalid-event',
            `'${type}' is written by sessionEnded(); call it instead of record()`,
          ),
        );
      }
      if (!KNOWN_TYPES.has(type)) {
        return Promise.reject(
          new GatehouseError(
            'audit.invalid-event',
            `'${String(type)}' is not an audit event type; add it to AUDIT_EVENT_TYPES in wire/audit-events.ts`,
          ),
        );
      }
      if (type === 'result.sample') {
        if (sampleRows <= 0) return Promise.resolve(null);
        const sample = data as AuditEventData['result.sample'];
        const rows = Array.isArray(sample.rows) ? sample.rows : [];
        const kept = rows.slice(0, sampleRows).map((row) => (Array.isArray(row) ? row.map(shortenCell) : row));
        return enqueue(sessionId, type, { ...sample, rows: kept, truncated: rows.length > sampleRows });
      }
      return enqueue(sessionId, type, { ...data });
    },
    async sessionEnded(sessionId, reason, data = {}) {
      await enqueue(sessionId, 'session.end', { ...data, reason }, true);
      try {
        await store.endSession(sessionId, reason, clock.now());
      } catch (error) {
        throw unavailable(error);
      }
    },
    async closeOrphans(reason = 'gateway-restart', filter = {}) {
      const open = (await store.listOpenSessions()).map((s) => s.id);
      const unsealed = (await store.listUnsealedAuditSessions?.()) ?? [];
      const closed: string[] = [];
      for (const sessionId of [...new Set([...open, ...unsealed])]) {
        if (filter.gatewayId !== undefined && (await startedBy(sessionId)) !== filter.gatewayId) continue;
        await recorder.sessionEnded(sessionId, reason);
        closed.push(sessionId);
      }
      return closed;
    },
    async flush() {
      while (running) await worker;
    },
    async close() {
      await recorder.flush();
      await Promise.all(sinks.map((sink) => sink.close().catch(() => {})));
    },
  };

  async function startedBy(sessionId: string): Promise<string | undefined> {
    const events = await store.listAuditEvents(sessionId);
    const start = events.find((e) => e.type === 'session.start');
    return typeof start?.data.gateway === 'string' ? start.data.gateway : undefined;
  }

  return recorder;
}

/** Sample cells are for a reviewer's eyes; a multi-megabyte value would only bloat the log. */
export const SAMPLE_CELL_MAX_CHARS = 256;

function shortenCell(cell: unknown): unknown {
  return typeof cell === 'string' && cell.length > SAMPLE_CELL_MAX_CHARS
    ? `${cell.slice(0, SAMPLE_CELL_MAX_CHARS - 1)}…`
    : cell;
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

function unavailable(error: unknown): GatehouseError {
  if (error instanceof GatehouseError && error.code === 'audit.unavailable') return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new GatehouseError(
    'audit.unavailable',
    `the audit log cannot be written to the store (${detail}); commands are refused until the store is reachable again, or set \`audit: best-effort\` on the connection`,
    { cause: error },
  );
}
