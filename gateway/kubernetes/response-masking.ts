import { Transform, type TransformCallback } from 'node:stream';
import { MaskingStream } from '../ssh/masking-stream.ts';
import { maskKubeDocument, type MaskCounts, type MaskText } from './object-masking.ts';
import type { KubeRequestInfo } from './request-info.ts';
import { WatchMasker } from './watch-masker.ts';

/** The largest JSON response the gateway holds whole to mask (a 1,000-object list is a few MiB). */
export const MAX_JSON_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A response masker: the streams to pipe the (decoded) body through and what they masked. */
export interface KubeResponseMasking {
  streams: Transform[];
  counts(): MaskCounts;
}

const zero = (): MaskCounts => ({ secretValues: 0, detected: 0, lastApplied: 0 });

/**
 * Holds a JSON response whole, masks it as a Kubernetes document (object, list, Table, Status)
 * and sends it re-serialized. A body that is not JSON, or larger than the limit, fails the stream:
 * nothing unmasked is ever passed on.
 */
export class KubeJsonMasker extends Transform {
  private chunks: Buffer[] = [];
  private bytes = 0;
  readonly counts: MaskCounts = zero();

  constructor(
    private readonly maskText: MaskText,
    private readonly limit = MAX_JSON_RESPONSE_BYTES,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return callback(new Error('the response is larger than gatehouse masks'));
    this.chunks.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    let document: unknown;
    try {
      document = JSON.parse(Buffer.concat(this.chunks).toString('utf8'));
    } catch {
      return callback(new Error('the response claims JSON but is not'));
    }
    this.chunks = [];
    Object.assign(this.counts, maskKubeDocument(document, this.maskText));
    callback(null, Buffer.from(JSON.stringify(document), 'utf8'));
  }
}

/** A watch response, masked event by event as they arrive. */
export class KubeWatchMasker extends Transform {
  private readonly masker: WatchMasker;

  constructor(maskText: MaskText) {
    super();
    this.masker = new WatchMasker(maskText);
  }

  get counts(): MaskCounts {
    return this.masker.counts;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const out = this.masker.push(chunk);
      callback(null, out.length ? out : undefined);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.masker.end();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.startsWith('application/json;');
}

/**
 * How a response body is masked, by what was asked and what came back: a watch event by event,
 * JSON whole, pod logs (text) through the content detectors chunk-boundary safe. Null for a body
 * the gateway cannot read (protobuf, CBOR, anything else): the adapter refuses to pass it (502).
 */
export function kubeResponseMasking(
  info: KubeRequestInfo,
  contentType: string | undefined,
  maskText: MaskText,
): KubeResponseMasking | null {
  const media = (contentType ?? '').replace(/\s+/g, '').toLowerCase();
  if (info.verb === 'watch' && isJson(media)) {
    const masker = new KubeWatchMasker(maskText);
    return { streams: [masker], counts: () => masker.counts };
  }
  if (isJson(media)) {
    const masker = new KubeJsonMasker(maskText);
    return { streams: [masker], counts: () => masker.counts };
  }
  if (media.startsWith('text/plain')) {
    const masker = new MaskingStream(maskText);
    return { streams: [masker], counts: () => ({ ...zero(), detected: masker.masked }) };
  }
  return null;
}
