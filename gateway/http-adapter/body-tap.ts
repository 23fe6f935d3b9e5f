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

/**
 * A pass-through that counts, hashes and keeps the first bytes of a body as it streams, so
 * recording costs no extra copy of the body and no second read.
 */
export class BodyTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private total = 0;

  constructor(
    private readonly sampleBytes: number,
    private readonly maxBytes = Infinity,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.observe(chunk);
    if (this.total > this.maxBytes) return callback(new BodyTooLarge(this.maxBytes));
    callback(null, chunk);
  }

  /** Counts bytes that bypass the stream (a body gathered before the decision and written at once). */
  observe(chunk: Buffer): void {
    this.total += chunk.length;
    this.hash.update(chunk);
    if (this.keptBytes < this.sampleBytes) {
      const part = chunk.subarray(0, this.sampleBytes - this.keptBytes);
      this.kept.push(Buffer.from(part));
      this.keptBytes += part.length;
    }
  }

  summary(): BodySummary {
    const sample = Buffer.concat(this.kept)
      .toString('utf8')
      .replace(/\uFFFD+$/, '');
    return {
      bytes: this.total,
      sha256: this.hash.copy().digest('hex'),
      sample,
      truncated: this.total > this.keptBytes,
    };
  }
}
