import type { AuditEventWire } from '../../../wire/audit-events.ts';

/** Delivery counters of a sink, for metrics and `gatehouse serve` logs. */
export interface SinkStats {
  queued: number;
  delivered: number;
  /** Dropped because the queue was full (oldest first). */
  dropped: number;
  /** Given up after retries or a permanent error. */
  failed: number;
}

/**
 * An export destination (SIEM) for audit events. `write` only enqueues and never throws or
 * waits: the store is the system of record, a slow sink must not slow statements.
 */
export interface AuditSink {
  readonly name: string;
  write(event: AuditEventWire): void;
  stats(): SinkStats;
  /** Delivers what is queued (bounded by the sink's own timeout) and stops. */
  close(): Promise<void>;
}

/** A FIFO that keeps at most `max` items by dropping the oldest, counting what it dropped. */
export class BoundedQueue<T> {
  readonly #max: number;
  #items: T[] = [];
  dropped = 0;

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#max) {
      const excess = this.#items.length - this.#max;
      this.#items.splice(0, excess);
      this.dropped += excess;
    }
  }

  take(count: number): T[] {
    return this.#items.splice(0, count);
  }
}
