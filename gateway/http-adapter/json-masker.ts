import { Transform, type TransformCallback } from 'node:stream';
import { redact, REDACTED } from '../content/redaction.ts';
import type { JsonPathTest } from '../policy/json-path.ts';
import { DEFAULT_JSON_LIMITS, JsonScanner, type JsonPathStep, type JsonScanLimits } from './json-scanner.ts';

/**
 * The content detectors as the HTTP adapter uses them (the shape of the gateway's content masker):
 * a cheap byte pre-check, then the masking of decoded text.
 */
export interface TextMasker {
  readonly active: boolean;
  mightMatch(bytes: Uint8Array, start: number, end: number): boolean;
  maskText(text: string): { text: string; count: number };
}

/** A `masking.fields` entry compiled: the values at this path are replaced, keeping at most `keepLast` characters. */
export interface JsonFieldRule {
  path: string;
  test: JsonPathTest;
  keepLast: number;
}

/** What was masked in one body, for the audit event. */
export interface MaskTally {
  fields: number;
  detected: number;
}

const REDACTED_JSON = Buffer.from(JSON.stringify(REDACTED));

/**
 * Masks a JSON (or NDJSON) body as it streams: values at a field rule's path are replaced by
 * `"****"` (whole objects and arrays too; strings may keep their last characters), and every string,
 * number and key is run through the content detectors. A body that is not JSON fails the stream
 * (the adapter then cuts the response) rather than passing unmasked.
 */
export class JsonMaskingStream extends Transform {
  readonly tally: MaskTally = { fields: 0, detected: 0 };
  private readonly scanner: JsonScanner;

  constructor(
    private readonly fields: readonly JsonFieldRule[],
    private readonly detectors: TextMasker,
    limits: JsonScanLimits = DEFAULT_JSON_LIMITS,
  ) {
    super();
    this.scanner = new JsonScanner(
      {
        replaceValue: (path, container) => this.replaceValue(path, container),
        scalar: (path, raw, kind) => this.scalar(path, raw, kind),
        key: (_path, raw, decoded) => this.key(raw, decoded),
      },
      limits,
    );
  }

  /** Masks a whole body at once (a small response read in full): the same result as streaming it, without the stream. */
  maskWhole(body: Buffer): Buffer {
    const out = [...this.scanner.write(body), ...this.scanner.end()];
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.run(() => this.scanner.write(chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.run(() => this.scanner.end(), callback);
  }

  private run(step: () => Buffer[], callback: TransformCallback): void {
    let out: Buffer[];
    try {
      out = step();
    } catch (error) {
      return callback(error as Error);
    }
    if (out.length === 1) this.push(out[0]);
    else if (out.length > 1) this.push(Buffer.concat(out));
    callback();
  }

  private rule(path: readonly JsonPathStep[]): JsonFieldRule | undefined {
    let found: JsonFieldRule | undefined;
    for (const rule of this.fields) if (rule.test(path) && (!found || rule.keepLast < found.keepLast)) found = rule;
    return found;
  }

  private replaceValue(path: readonly JsonPathStep[], container: boolean): Buffer | undefined {
    if (this.fields.length === 0) return undefined;
    const rule = this.rule(path);
    if (!rule || (!container && rule.keepLast > 0)) return undefined;
    this.tally.fields++;
    return REDACTED_JSON;
  }

  private scalar(path: readonly JsonPathStep[], raw: Buffer, kind: string): Buffer | undefined {
    const rule = this.fields.length > 0 ? this.rule(path) : undefined;
    if (rule) {
      this.tally.fields++;
      const text = kind === 'string' ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('latin1');
      return Buffer.from(JSON.stringify(redact(text, rule.keepLast)));
    }
    if (kind === 'literal' || !this.mayHoldSecret(raw)) return undefined;
    const text = kind === 'string' ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('latin1');
    const masked = this.detectors.maskText(text);
    if (masked.count === 0) return undefined;
    this.tally.detected += masked.count;
    return Buffer.from(JSON.stringify(masked.text));
  }

  /** The byte pre-check sees escapes as written (`\u0040` is no '@'), so an escaped string is always decoded. */
  private mayHoldSecret(raw: Buffer): boolean {
    return this.detectors.active && (raw.includes(0x5c) || this.detectors.mightMatch(raw, 0, raw.length));
  }

  private key(raw: Buffer, decoded: string): Buffer | undefined {
    if (!this.mayHoldSecret(raw)) return undefined;
    const masked = this.detectors.maskText(decoded);
    if (masked.count === 0) return undefined;
    this.tally.detected += masked.count;
    return Buffer.from(JSON.stringify(masked.text));
  }
}
