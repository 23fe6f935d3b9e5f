import { StringDecoder } from 'node:string_decoder';
import type { AsciicastEvent } from './ssh-audit-events.ts';

/** When buffered events are handed to the audit log. */
export const ASCIICAST_BATCH = { maxChars: 32 * 1024, maxDelayMs: 1000 } as const;

/**
 * Collects the events of one terminal session as asciicast v2 and hands them to `flush` in
 * batches (by size or age), so a long shell is recorded as it goes and a crash loses at most
 * one batch. Output given to it must already be masked.
 */
export class AsciicastRecorder {
  private events: AsciicastEvent[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly decoders = { o: new StringDecoder('utf8'), i: new StringDecoder('utf8') };
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly startedAt: number,
    private readonly now: () => number,
    private readonly flush: (events: AsciicastEvent[]) => Promise<void>,
  ) {}

  output(bytes: Buffer): void {
    this.add('o', this.decoders.o.write(bytes));
  }

  input(bytes: Buffer): void {
    this.add('i', this.decoders.i.write(bytes));
  }

  resize(cols: number, rows: number): void {
    this.add('r', `${cols}x${rows}`);
  }

  /** Writes what is buffered; resolves when every batch so far is stored. */
  close(): Promise<void> {
    this.add('o', this.decoders.o.end());
    this.send();
    return this.chain;
  }

  private add(kind: AsciicastEvent[1], data: string): void {
    if (!data) return;
    const seconds = Math.max(0, (this.now() - this.startedAt) / 1000);
    this.events.push([Math.round(seconds * 1e6) / 1e6, kind, data]);
    this.chars += data.length;
    if (this.chars >= ASCIICAST_BATCH.maxChars) this.send();
    else this.timer ??= setTimeout(() => this.send(), ASCIICAST_BATCH.maxDelayMs);
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.events.length) return;
    const batch = this.events;
    this.events = [];
    this.chars = 0;
    this.chain = this.chain.then(() => this.flush(batch));
  }
}
