import { maskWatchEvent, type MaskCounts, type MaskText } from './object-masking.ts';

/** The largest single watch event the gateway holds to mask (bigger: the stream is cut). */
export const MAX_WATCH_EVENT_BYTES = 16 * 1024 * 1024;

const OPEN = 0x7b;
const CLOSE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const WHITESPACE = new Set([0x20, 0x0a, 0x0d, 0x09]);

/**
 * Splits a watch response (a stream of JSON objects, newline-separated by the API server but
 * cut anywhere by the network) into whole events, however the chunks fall: it tracks string,
 * escape and nesting state across chunks, so a brace inside a string or an event split mid-UTF-8
 * is still read right.
 */
export class WatchEventSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Feeds bytes; returns the events completed by them. Throws on anything but JSON objects, or an event too large. */
  push(chunk: Buffer): Buffer[] {
    const events: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.depth === 0) {
        if (WHITESPACE.has(byte)) {
          start = i + 1;
          continue;
        }
        if (byte !== OPEN) throw new Error('a watch stream holds something other than JSON objects');
        start = i;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN) this.depth++;
      else if (byte === CLOSE && --this.depth === 0) {
        events.push(this.take(chunk.subarray(start, i + 1)));
        start = i + 1;
      }
    }
    if (this.depth > 0) this.keep(chunk.subarray(start));
    return events;
  }

  /** True when an event was started and not finished (the stream ended mid-event). */
  get partial(): boolean {
    return this.depth > 0;
  }

  private keep(bytes: Buffer): void {
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > MAX_WATCH_EVENT_BYTES) throw new Error('a watch event is larger than the gateway masks');
    this.pending.push(Buffer.from(bytes));
  }

  private take(tail: Buffer): Buffer {
    const whole = this.pending.length ? Buffer.concat([...this.pending, tail]) : Buffer.from(tail);
    this.pending = [];
    this.pendingBytes = 0;
    return whole;
  }
}

/**
 * Masks a watch stream event by event: each event is parsed, masked like a response object
 * (Secrets, last-applied, detectors; a Table event too) and re-serialized with a newline.
 */
export class WatchMasker {
  private readonly splitter = new WatchEventSplitter();
  readonly counts: MaskCounts = { secretValues: 0, detected: 0, lastApplied: 0 };

  constructor(private readonly maskText: MaskText) {}

  /** Masked bytes for the events this chunk completed (possibly none). */
  push(chunk: Buffer): Buffer {
    const out: string[] = [];
    for (const raw of this.splitter.push(chunk)) {
      const event = JSON.parse(raw.toString('utf8'));
      const counts = maskWatchEvent(event, this.maskText);
      this.counts.secretValues += counts.secretValues;
      this.counts.detected += counts.detected;
      this.counts.lastApplied += counts.lastApplied;
      out.push(`${JSON.stringify(event)}\n`);
    }
    return Buffer.from(out.join(''), 'utf8');
  }

  /** Throws when the stream ended inside an event (nothing unmasked is ever released). */
  end(): void {
    if (this.splitter.partial) throw new Error('the watch stream ended inside an event');
  }
}
