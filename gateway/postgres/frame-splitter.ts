import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * One complete protocol message: `type` is 0 for startup-phase messages, which have no type byte.
 * `body` is cut only when asked for, because most relayed messages (rows) are never decoded.
 */
export class Frame {
  constructor(
    readonly type: number,
    /** The whole message, header included, as it was on the wire. */
    readonly bytes: Buffer,
    private readonly headerSize: number,
  ) {}

  /** The message body after the header. */
  get body(): Buffer {
    return this.bytes.subarray(this.headerSize);
  }
}

/**
 * Cuts a byte stream into PostgreSQL messages. Written by hand because pg-protocol's parser
 * only decodes server messages and always copies; this one hands out zero-copy views when a
 * message lies inside one chunk and copies only messages that span chunks.
 */
export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Whether the next message has no type byte (StartupMessage, SSLRequest, CancelRequest). */
  startup: boolean;
  private readonly maxLength: number;

  constructor(options: { startup: boolean; maxMessageBytes: number }) {
    this.startup = options.startup;
    this.maxLength = options.maxMessageBytes;
  }

  /** Feeds bytes; returns every message completed by them, in order. Throws on a malformed length. */
  push(chunk: Buffer): Frame[] {
    let buffer = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      buffer = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const frames: Frame[] = [];
    let offset = 0;
    while (true) {
      const headerSize = this.startup ? 4 : 5;
      if (buffer.length - offset < headerSize) break;
      const lengthAt = this.startup ? offset : offset + 1;
      const length = buffer.readInt32BE(lengthAt);
      if (length < 4 || length > this.maxLength) {
        throw new GatehouseError(
          'pg.bad-length',
          `message length ${length} is outside 4..${this.maxLength} bytes; the stream is out of sync`,
        );
      }
      const total = length + (this.startup ? 0 : 1);
      if (buffer.length - offset < total) break;
      const bytes = buffer.subarray(offset, offset + total);
      frames.push(new Frame(this.startup ? 0 : bytes[0]!, bytes, headerSize));
      offset += total;
      if (this.startup) return this.finishStartup(frames, buffer.subarray(offset));
    }
    if (offset < buffer.length) this.keep(buffer.subarray(offset));
    return frames;
  }

  /** After a startup-phase message the caller decides whether more startup messages follow. */
  private finishStartup(frames: Frame[], rest: Buffer): Frame[] {
    if (rest.length > 0) this.keep(rest);
    return frames;
  }

  /** Bytes received after the last complete startup message (handed back when the mode changes). */
  takeRemainder(): Buffer {
    const rest = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return rest;
  }

  get buffered(): number {
    return this.pendingBytes;
  }

  private keep(rest: Buffer): void {
    // Copy so the (possibly large) chunk it came from can be released.
    const copy = Buffer.from(rest);
    this.pending.push(copy);
    this.pendingBytes += copy.length;
  }
}
