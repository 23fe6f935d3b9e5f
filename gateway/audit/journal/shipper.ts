import { GatehouseError } from '../../errors/gatehouse-error.ts';
import type { AuditEventRecord, Store } from '../../store/store.ts';
import type { AuditSink } from '../sinks/audit-sink.ts';
import { toWireEvent } from '../wire-event.ts';
import type { Journal, JournalEvent } from './journal.ts';

/** Where shipped events go and how the shipper behaves while the store is away. */
export interface ShipperOptions {
  store: Pick<Store, 'shipAuditEvents'>;
  journal: Pick<Journal, 'shipped'>;
  sinks?: readonly AuditSink[];
  /** Told once when the store goes away, once when it is back, and of every journal/store disagreement. */
  log?: (message: string) => void;
  /** Events per store INSERT batch (default 2000). */
  batchSize?: number;
  /** Backoff between attempts while the store refuses (default 100 ms doubling to 5 s). */
  retry?: { minMs: number; maxMs: number };
  /**
   * How long a partial batch waits for more events before it ships (default 50 ms), unless someone
   * waits for it (durability `store`, a flush). Fewer, larger store commits cost the store (and an
   * embedded store's thread) far less per event; readers merge the journal, so they never wait.
   */
  lingerMs?: number;
}

/** Moves journaled events to the store and the export sinks, in journal order, in large batches. */
export interface Shipper {
  /** Queues events that are already in the journal. */
  push(events: readonly JournalEvent[]): void;
  /**
   * Resolves once everything pushed so far is in the store. With `failFast` (durability `store`)
   * it rejects with `audit.unavailable` when the next attempt fails; without it, a failed attempt
   * resolves it too (a flush that must not hang while the store is away).
   */
  settled(options: { failFast: boolean }): Promise<void>;
  /** Events of a session still waiting for the store, for reads that merge them in. */
  pending(sessionId: string): AuditEventRecord[];
  /** Number of events waiting for the store. */
  backlog(): number;
  /** One last attempt, then stops; what is left stays in the journal for the next start. */
  close(): Promise<void>;
}

interface Waiter {
  target: number;
  failFast: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function createShipper(options: ShipperOptions): Shipper {
  return new StoreShipper(options);
}

class StoreShipper implements Shipper {
  readonly #options: ShipperOptions;
  readonly #log: (message: string) => void;
  readonly #retry: { minMs: number; maxMs: number };
  readonly #queue: JournalEvent[] = [];
  #waiters: Waiter[] = [];
  #pushed = 0;
  #shipped = 0;
  #running: Promise<void> | null = null;
  #failing = false;
  #delay: number;
  #wake: (() => void) | null = null;
  #stopped = false;

  constructor(options: ShipperOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.#retry = options.retry ?? { minMs: 100, maxMs: 5000 };
    this.#delay = this.#retry.minMs;
  }

  push(events: readonly JournalEvent[]): void {
    if (events.length === 0) return;
    this.#queue.push(...events);
    this.#pushed += events.length;
    this.#kick();
  }

  settled({ failFast }: { failFast: boolean }): Promise<void> {
    if (this.#shipped >= this.#pushed) return Promise.resolve();
    if (this.#stopped)
      return failFast ? Promise.reject(unavailable(new Error('the recorder is closed'))) : Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target: this.#pushed, failFast, resolve, reject });
      this.#wake?.();
      this.#kick();
    });
  }

  pending(sessionId: string): AuditEventRecord[] {
    return this.#queue.filter((e) => e.record.sessionId === sessionId).map((e) => e.record);
  }

  backlog(): number {
    return this.#queue.length;
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#running;
    while (this.#queue.length > 0 && (await this.#attempt()));
    this.#settle(new Error('the recorder is closed'));
  }

  #kick(): void {
    if (this.#running || this.#stopped || this.#queue.length === 0) return;
    this.#running = this.#loop().finally(() => {
      this.#running = null;
      this.#kick();
    });
  }

  async #loop(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const batchSize = this.#options.batchSize ?? 2000;
      if (this.#waiters.length === 0 && this.#queue.length < batchSize) await this.#pause(this.#options.lingerMs ?? 50);
      if (this.#stopped) break;
      if (!(await this.#attempt())) await this.#pause(this.#backoff());
    }
  }

  async #attempt(): Promise<boolean> {
    const batch = this.#queue.slice(0, this.#options.batchSize ?? 2000);
    try {
      const conflicts = await this.#options.store.shipAuditEvents(batch.map((e) => e.record));
      for (const c of conflicts)
        this.#log(
          `audit: the store holds another event ${c.seq} of chain ${c.chain ?? '(unnamed)'} of session ${c.sessionId} than this gateway's journal; the store was changed behind the gateway's back (run gatehouse audit verify)`,
        );
      this.#queue.splice(0, batch.length);
      this.#shipped += batch.length;
      const end = lastPosition(batch);
      if (end) this.#options.journal.shipped(end);
      this.#publish(batch);
      if (this.#failing)
        this.#log(`audit: the store is reachable again; shipping the journal (${this.#queue.length} events left)`);
      this.#failing = false;
      this.#delay = this.#retry.minMs;
      this.#settle(null);
      return true;
    } catch (error) {
      if (!this.#failing)
        this.#log(
          `audit: cannot ship to the store (${(error as Error).message}); events wait in the journal and commands go on while it has room`,
        );
      this.#failing = true;
      this.#settle(error);
      return false;
    }
  }

  /** Resolves the waiters that are shipped; on a failure (`error`), rejects the fail-fast ones and releases the others. */
  #settle(error: unknown): void {
    const keep: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.target <= this.#shipped) waiter.resolve();
      else if (error === null) keep.push(waiter);
      else if (waiter.failFast) waiter.reject(unavailable(error));
      else waiter.resolve();
    }
    this.#waiters = keep;
  }

  #backoff(): number {
    const ms = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#retry.maxMs);
    return ms;
  }

  /** Waits `ms` before the next attempt; a new waiter (or closing) cuts the wait short. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
    });
  }

  #publish(batch: readonly JournalEvent[]): void {
    for (const sink of this.#options.sinks ?? []) {
      for (const event of batch) {
        try {
          sink.write(toWireEvent(event.record));
        } catch {
          // A sink counts its own failures; it must never stop shipping.
        }
      }
    }
  }
}

function lastPosition(batch: readonly JournalEvent[]): JournalEvent['end'] {
  for (let i = batch.length - 1; i >= 0; i--) if (batch[i]!.end) return batch[i]!.end;
  return null;
}

/** The error a `store`-durability statement is refused with while the store cannot be written. */
export function unavailable(error: unknown): GatehouseError {
  if (error instanceof GatehouseError && error.code === 'audit.unavailable') return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new GatehouseError(
    'audit.unavailable',
    `the audit log cannot be written to the store (${detail}); commands are refused until the store is reachable again, or set \`audit: best-effort\` on the connection`,
    { cause: error },
  );
}
