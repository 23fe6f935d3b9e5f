import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

/** The content detectors as the SSH adapter sees them. */
export type MaskText = (text: string) => { text: string; count: number };

/** How much output is held back so a value split across chunks is still seen whole. */
export interface MaskingWindow {
  tailBytes: number;
  maxBlockBytes: number;
  idleMs: number;
}

export const MASKING_WINDOW = {
  /** Bytes always held back from the end of what arrived. */
  tailBytes: 1024,
  /** A PEM block (`-----BEGIN ... -----END`) is held whole up to this size. */
  maxBlockBytes: 16 * 1024,
  /** Held-back output is released after this much quiet, so prompts still appear. */
  idleMs: 20,
} as const satisfies MaskingWindow;

const NEWLINE = 0x0a;
const BLOCK_START = Buffer.from('-----BEGIN');
const BLOCK_END = Buffer.from('-----END');

/**
 * A Transform that applies the content detectors to a byte stream (stdout, stderr, a terminal)
 * before the client or the recording sees it. Output is cut at line breaks or spaces, never
 * inside a word, and the last {@link MASKING_WINDOW.tailBytes} are held until more arrives, so a
 * secret split between two network chunks is still masked. Bytes that are not UTF-8 are matched
 * as Latin-1, which keeps binary output byte-exact.
 */
export class MaskingStream extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  /** Number of values masked so far. */
  masked = 0;

  constructor(
    private readonly maskText: MaskText,
    private readonly window: MaskingWindow = MASKING_WINDOW,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.clearTimer();
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const cut = this.cutPoint(data);
    if (cut > 0) this.push(this.mask(data.subarray(0, cut)));
    this.pending = Buffer.from(data.subarray(cut));
    if (this.pending.length) this.timer = setTimeout(() => this.release(), this.window.idleMs);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.clearTimer();
    if (this.pending.length) this.push(this.mask(this.pending));
    this.pending = Buffer.alloc(0);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimer();
    callback(error);
  }

  private release(): void {
    this.timer = undefined;
    if (!this.pending.length || this.destroyed) return;
    const data = this.pending;
    this.pending = Buffer.alloc(0);
    this.push(this.mask(data));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private cutPoint(data: Buffer): number {
    const { tailBytes, maxBlockBytes } = this.window;
    const limit = data.length - tailBytes;
    if (limit <= 0) return 0;
    const floor = limit - tailBytes;
    let cut = boundaryBefore(data, limit, Math.max(0, floor));
    if (cut === limit && floor < 0) return 0;
    const blockStart = data.lastIndexOf(BLOCK_START, cut);
    if (blockStart >= 0 && data.indexOf(BLOCK_END, blockStart) === -1 && data.length - blockStart <= maxBlockBytes) {
      cut = blockStart;
    }
    return cut;
  }

  private mask(bytes: Buffer): Buffer {
    const encoding: BufferEncoding = isUtf8(bytes) ? 'utf8' : 'latin1';
    const result = this.maskText(bytes.toString(encoding));
    if (result.count === 0) return bytes;
    this.masked += result.count;
    return Buffer.from(result.text, encoding);
  }
}

/**
 * The position just after the last newline (else space or tab) in [floor, limit), else limit:
 * only a run of more than a whole window without whitespace is cut inside a word.
 */
function boundaryBefore(data: Buffer, limit: number, floor: number): number {
  const newline = data.lastIndexOf(NEWLINE, limit - 1);
  if (newline >= floor) return newline + 1;
  for (let i = limit - 1; i >= floor; i--) {
    const byte = data[i];
    if (byte === 0x20 || byte === 0x09) return i + 1;
  }
  return limit;
}
