import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** What a tapped body looked like, for the audit event: never the whole body, only a bounded prefix. */
export interface BodySummary {
  bytes: number;
  sha256: string;
  /** The first `sampleBytes` bytes as text (already masked when the tap sits after the masker). */
  sample: string;
  truncated: boolean;
}

/** A body passed the byte limit of its tap: the stream fails with this, and the exchange answers 413. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Counts, hashes and keeps the first bytes of a body as it passes, so recording costs no extra
 * copy of the body and no second read. The hash is started by the first byte: an empty body
 * (most requests) costs nothing.
 */
export class BodyTap {
  private hash: Hash | undefined;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  total = 0;

  constructor(private readonly sampleBytes: number) {}

  observe(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.total += chunk.length;
    (this.hash ??= createHash('sha256')).update(chunk);
    if (this.keptBytes < this.sampleBytes) {
      const part = chunk.subarray(0, this.sampleBytes - this.keptBytes);
      this.kept.push(Buffer.from(part));
      this.keptBytes += part.length;
    }
  }

  summary(): BodySummary {
    const sample = this.kept.length
      ? Buffer.concat(this.kept)
          .toString('utf8')
          .replace(/\uFFFD+$/, '')
      : '';
    const sha256 = this.hash ? this.hash.copy().digest('hex') : EMPTY_SHA256;
    return { bytes: this.total, sha256, sample, truncated: this.total > this.keptBytes };
  }
}

/** A tap as a pass-through stream, for bodies that flow through a pipeline; fails past `maxBytes`. */
export class TapStream extends Transform {
  constructor(
    readonly tap: BodyTap,
    private readonly maxBytes = Infinity,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.tap.observe(chunk);
    if (this.tap.total > this.maxBytes) return callback(new BodyTooLarge(this.maxBytes));
    callback(null, chunk);
  }
}
