import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { AuditEventRecord, Store } from '../store/store.ts';
import {
  AUDIT_EVENT_TYPES,
  type AuditEventData,
  type AuditEventType,
  type SessionEndReason,
} from '../../wire/audit-events.ts';
import { canonicalData, type CanonicalData } from './canonical-json.ts';
import { createChainWriter, writerCheckpoint, type AuditDurability, type ChainWriter } from './journal/chain-writer.ts';
import type { JournalHead } from './journal/journal.ts';
import type { Journal } from './journal/journal.ts';
import { createMemoryJournal } from './journal/memory-journal.ts';
import { createShipper, type Shipper } from './journal/shipper.ts';
import { closeOrphanedChains } from './orphan-recovery.ts';
import { startSealSweep } from './seal-sweep.ts';
import { generateAuditSigningKey, type AuditSigningKey } from './signing-key.ts';
import type { AuditSink } from './sinks/audit-sink.ts';

/** Where event timestamps come from; tests pass a fixed clock. */
export interface RecorderClock {
  now(): Date;
}

/** What the recorder writes to and how; the store, journal, key and clock are passed in so tests and replicas choose them. */
export interface RecorderOptions {
  store: Store;
  clock?: RecorderClock;
  /** Rows kept in a `result.sample` event (config `audit.sampleRows`); 0 drops samples. */
  sampleRows?: number;
  /** Export sinks: get each event once it is in the store, never slow the data path. */
  sinks?: readonly AuditSink[];
  /** Stamped into `session.start` and the chain registry so a replica's restart closes only its own sessions. */
  gatewayId?: string;
  /** Built from the journal's `checkpoint` callback (default: a memory journal of 64 MiB). */
  journal?: (checkpoint: () => string) => Journal;
  /** When `record()` resolves (default `write`); see {@link AuditDurability}. */
  durability?: AuditDurability;
  /** The seal key (default: a fresh key for this process, as the memory store uses). */
  key?: AuditSigningKey;
  /** Where shipping problems and recovery are reported (the gateway log). */
  log?: (message: string) => void;
  /** How often open chains of sessions ended elsewhere are sealed (default 2000 ms; 0 turns it off). */
  sealSweepMs?: number;
}

/** What callers may record; `chain.end` is in the type (the interface predates it) but refused like `session.end`. */
type Recordable = Exclude<AuditEventType, 'session.end' | 'seal'>;

/**
 * Writes every session's hash-chained event log. Each event is first appended to this process's
 * journal (its own chain of the session, so replicas never contend for a sequence), and `record`
 * resolves per the durability: once written (`write`), flushed to disk (`fsync`) or committed to
 * the store (`store`). The journal ships to the store and the sinks in the background. A refusal
 * (`audit.journal-full`, `audit.journal-unwritable`, `audit.unavailable`) makes the adapter refuse
 * the statement (unless `audit: best-effort`).
 */
export interface Recorder {
  sessionStarted(sessionId: string, data: AuditEventData['session.start']): Promise<void>;
  record<T extends Recordable>(sessionId: string, type: T, data: AuditEventData[T]): Promise<void>;
  /** Appends `session.end`, seals this process's chain of the session and ends the stored session; idempotent. */
  sessionEnded(sessionId: string, reason: SessionEndReason, data?: Record<string, unknown>): Promise<void>;
  /**
   * Crash recovery: ships what the journal holds, seals the chains a previous process of this
   * journal left open (only when the store's copy matches the journal), and ends the sessions it
   * had started (with `gatewayId`, also those whose journal was lost); returns the ended ids.
   */
  closeOrphans(reason?: SessionEndReason, options?: { gatewayId?: string }): Promise<string[]>;
  /** Waits until everything recorded so far is in the journal and was offered to the store once. */
  flush(): Promise<void>;
  /** Seals this process's open chains (`chain.end`), ships what it can and closes the journal and sinks (not the store). */
  close(): Promise<void>;
}

/**
 * What readers of a live gateway's log need besides the store: the events only its journal holds
 * yet. Apart from {@link Recorder} so stand-ins (the benchmarks' null recorder) need not have it.
 */
export interface RecorderReads {
  /** This process's chain id. */
  readonly chain: string;
  /** Events of a session in the journal but not yet in the store, for reads that merge them in. */
  pending(sessionId: string): AuditEventRecord[];
  /** Resolves once a session's ending (if one is under way) is in the journal. */
  settled(sessionId: string): Promise<void>;
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(AUDIT_EVENT_TYPES));
const WRITTEN_BY_RECORDER: ReadonlySet<string> = new Set(['session.end', 'chain.end', 'seal']);
const MEMORY_JOURNAL_BYTES = 64 << 20;

export function createRecorder(options: RecorderOptions): Recorder & RecorderReads {
  return new JournaledRecorder(options);
}

class JournaledRecorder implements Recorder, RecorderReads {
  readonly chain = randomBytes(6).toString('hex');
  readonly #options: RecorderOptions;
  readonly #store: Store;
  readonly #clock: RecorderClock;
  readonly #log: (message: string) => void;
  readonly #journal: Journal;
  readonly #recovered: JournalHead[];
  readonly #shipper: Shipper;
  readonly #chains: ChainWriter;
  readonly #ending = new Map<string, Promise<void>>();
  readonly #sweep: { stop(): void };

  constructor(options: RecorderOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#log = options.log ?? (() => {});
    const gateway = options.gatewayId ?? 'unnamed';
    // The journal writes the open chains' heads atop each segment; the writer that knows them comes after it.
    const late: { writer?: ChainWriter } = {};
    this.#journal = (options.journal ?? (() => createMemoryJournal({ maxBytes: MEMORY_JOURNAL_BYTES })))(
      writerCheckpoint(() => late.writer),
    );
    const recovery = this.#journal.recover();
    for (const problem of recovery.problems) this.#log(`audit journal: ${problem}`);
    this.#recovered = recovery.open;
    this.#shipper = createShipper({ store: this.#store, journal: this.#journal, sinks: options.sinks, log: this.#log });
    this.#shipper.push(recovery.unshipped);
    this.#chains = late.writer = createChainWriter({
      journal: this.#journal,
      shipper: this.#shipper,
      chain: this.chain,
      durability: this.#durability,
      key: options.key ?? generateAuditSigningKey(),
      recovered: recovery.open,
      register: (sessionId, chain) =>
        this.#store.registerAuditChain({ sessionId, chain, gateway, openedAt: new Date() }),
    });
    this.#sweep = startSealSweep({
      everyMs: options.sealSweepMs ?? 2000,
      openSessions: () => this.#ownOpen().map((h) => h.sessionId),
      store: this.#store,
      seal: (sessionId, reason) => this.sessionEnded(sessionId, reason),
      log: this.#log,
    });
  }

  get #durability(): AuditDurability {
    return this.#options.durability ?? 'write';
  }

  sessionStarted = async (sessionId: string, data: AuditEventData['session.start']): Promise<void> => {
    const gateway = this.#options.gatewayId;
    await this.#enqueue(sessionId, 'session.start', gateway ? { ...data, gateway } : { ...data });
  };

  record = async <T extends Recordable>(sessionId: string, type: T, data: AuditEventData[T]): Promise<void> => {
    await this.#write(sessionId, type, data);
  };

  #write<T extends Recordable>(sessionId: string, type: T, data: AuditEventData[T]): Promise<number | null> {
    if (WRITTEN_BY_RECORDER.has(type)) {
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
    if (type !== 'result.sample') return this.#enqueue(sessionId, type, { ...data });
    const sampleRows = this.#options.sampleRows ?? 10;
    if (sampleRows <= 0) return Promise.resolve(null);
    const sample = data as AuditEventData['result.sample'];
    const rows = Array.isArray(sample.rows) ? sample.rows : [];
    const kept = rows.slice(0, sampleRows).map((row) => (Array.isArray(row) ? row.map(shortenCell) : row));
    return this.#enqueue(sessionId, type, { ...sample, rows: kept, truncated: rows.length > sampleRows });
  }

  /** Ends are serialised per session, so a repeated end waits for the first and then finds the chain sealed. */
  sessionEnded = (sessionId: string, reason: SessionEndReason, data: Record<string, unknown> = {}): Promise<void> => {
    const previous = this.#ending.get(sessionId) ?? Promise.resolve();
    const current = previous.catch(() => {}).then(() => this.#end(sessionId, reason, data));
    const tracked: Promise<void> = current
      .catch(() => {})
      .then(() => {
        if (this.#ending.get(sessionId) === tracked) this.#ending.delete(sessionId);
      });
    this.#ending.set(sessionId, tracked);
    return current;
  };

  closeOrphans = (
    reason: SessionEndReason = 'gateway-restart',
    filter: { gatewayId?: string } = {},
  ): Promise<string[]> =>
    closeOrphanedChains({
      store: this.#store,
      recovered: this.#recovered,
      settle: () => this.#shipper.settled({ failFast: true }),
      endOnChain: async (sessionId, chain, type, why) => {
        await this.#enqueue(sessionId, type, { reason: why }, { seal: true, chain });
      },
      endHere: (sessionId, why) => this.#endHere(sessionId, why, {}),
      log: this.#log,
      reason,
      gatewayId: filter.gatewayId,
    });

  flush = async (): Promise<void> => {
    await this.#chains.flush();
    await this.#shipper.settled({ failFast: false });
  };

  close = async (): Promise<void> => {
    this.#sweep.stop();
    await Promise.allSettled([...this.#ending.values()]);
    await Promise.allSettled(
      this.#ownOpen().map((h) =>
        this.#enqueue(h.sessionId, 'chain.end', { reason: 'gateway-shutdown' }, { seal: true }),
      ),
    );
    await this.#chains.flush();
    await this.#shipper.close();
    await this.#journal.close();
    await Promise.all((this.#options.sinks ?? []).map((sink) => sink.close().catch(() => {})));
  };

  pending = (sessionId: string): AuditEventRecord[] => this.#shipper.pending(sessionId);

  settled = async (sessionId: string): Promise<void> => {
    await this.#ending.get(sessionId)?.catch(() => {});
    await this.#chains.flush();
  };

  #ownOpen(): JournalHead[] {
    return this.#chains.heads().filter((h) => h.chain === this.chain);
  }

  #enqueue(
    sessionId: string,
    type: string,
    data: Record<string, unknown>,
    extra: { seal?: boolean; chain?: string } = {},
  ): Promise<number | null> {
    let written: CanonicalData;
    try {
      written = canonicalData(data);
    } catch (error) {
      return Promise.reject(error);
    }
    const { canonical, snapshot } = written;
    return this.#chains.enqueue({ sessionId, type, at: this.#clock.now(), data: snapshot, canonical, ...extra });
  }

  /** Ends a session on this process's chain (opening one if needed), then in the store. */
  async #endHere(sessionId: string, reason: string, data: Record<string, unknown>): Promise<void> {
    await this.#enqueue(sessionId, 'session.end', { ...data, reason }, { seal: true });
    try {
      await this.#store.endSession(sessionId, reason, this.#clock.now());
    } catch (error) {
      // The session service owns the session row; the recorder only repeats the end, so an
      // unreachable store matters here only when the caller asked for store durability.
      if (this.#durability === 'store') throw error;
    }
  }

  async #end(sessionId: string, reason: SessionEndReason, data: Record<string, unknown>): Promise<void> {
    if (!this.#chains.knows(sessionId)) {
      // This process never wrote the session: another replica's chain holds it and is sealed by its
      // own writer. A session no chain holds at all gets its end here, so it is never left without one.
      const held = await this.#store.listAuditChains(sessionId);
      if (held.length > 0) {
        await this.#store.endSession(sessionId, reason, this.#clock.now()).catch(() => {});
        return;
      }
    }
    await this.#endHere(sessionId, reason, data);
  }
}

/** Sample cells are for a reviewer's eyes; a multi-megabyte value would only bloat the log. */
export const SAMPLE_CELL_MAX_CHARS = 256;

function shortenCell(cell: unknown): unknown {
  return typeof cell === 'string' && cell.length > SAMPLE_CELL_MAX_CHARS
    ? `${cell.slice(0, SAMPLE_CELL_MAX_CHARS - 1)}…`
    : cell;
}
