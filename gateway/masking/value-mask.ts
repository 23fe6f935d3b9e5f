import type { ColumnMask } from './column-mask.ts';
import type { ContentMasker } from '../content/detectors.ts';
import { REDACTED, redact } from '../content/redaction.ts';

/** Type OIDs where any string is a valid value, so a masked value can stay text. */
export const TEXT_VALUED_OIDS: ReadonlySet<number> = new Set([25, 1043, 1042, 19, 705]);

/** Types whose text can hold a detector replacement and stay valid (JSON is re-checked). */
const DETECTOR_REWRITABLE_OIDS: ReadonlySet<number> = new Set([
  25, 1043, 1042, 19, 705, 114, 3802, 142, 1009, 1015, 1014, 199, 3807,
]);
const JSON_OIDS: ReadonlySet<number> = new Set([114, 3802]);

export const BYTEA_OID = 17;

/** What one value becomes: unchanged, NULL, or new text. */
export type ValueOutcome = { kind: 'same' } | { kind: 'null' } | { kind: 'text'; text: string };

const SAME: ValueOutcome = Object.freeze({ kind: 'same' });
const NULL: ValueOutcome = Object.freeze({ kind: 'null' });
const REDACTED_TEXT: ValueOutcome = Object.freeze({ kind: 'text', text: REDACTED });

/** Counts kept for the audit log: values masked by column rules, and secrets found by detectors. */
export interface MaskCounts {
  masked: number;
  detected: number;
}

/**
 * Applies a column mask to one non-NULL value (`value` is only read for `keep_last`). `typeOid`
 * undefined means "unknown type", which keeps masked values as text (COPY output, where no driver
 * parses types).
 */
export function maskValue(
  value: string,
  mask: ColumnMask,
  typeOid: number | undefined,
  counts: MaskCounts,
): ValueOutcome {
  const textValued = typeOid === undefined || TEXT_VALUED_OIDS.has(typeOid);
  if (mask.kind === 'mask-column') {
    counts.masked++;
    if (!textValued) return NULL;
    return mask.keepLast <= 0 ? REDACTED_TEXT : { kind: 'text', text: redact(value, mask.keepLast) };
  }
  if (mask.kind === 'mask-whole') {
    counts.masked++;
    return textValued ? REDACTED_TEXT : NULL;
  }
  return SAME;
}

/** Runs the content detectors over a raw text value; a hit in a value that cannot hold the replacement becomes NULL. */
export function detectInText(
  text: string,
  typeOid: number | undefined,
  content: ContentMasker,
  counts: MaskCounts,
): ValueOutcome {
  const result = content.maskText(text);
  if (result.count === 0) return SAME;
  counts.detected += result.count;
  if (typeOid === undefined || TEXT_VALUED_OIDS.has(typeOid)) return { kind: 'text', text: result.text };
  if (!DETECTOR_REWRITABLE_OIDS.has(typeOid)) return NULL;
  if (JSON_OIDS.has(typeOid)) {
    try {
      JSON.parse(result.text);
    } catch {
      return NULL;
    }
  }
  return { kind: 'text', text: result.text };
}

/** Detectors over bytes that may hold text (bytea): any hit makes the value NULL. */
export function detectInBytes(bytes: Buffer, content: ContentMasker, counts: MaskCounts): ValueOutcome {
  const result = content.maskText(bytes.toString('latin1'));
  if (result.count === 0) return SAME;
  counts.detected += result.count;
  return NULL;
}

/** Decodes PostgreSQL's text form of bytea (`\x` hex or escape format) to bytes. */
export function decodeByteaText(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  return Buffer.from(
    text.replace(/\\(\\|[0-7]{3})/g, (_, g: string) => (g === '\\' ? '\\' : String.fromCharCode(parseInt(g, 8)))),
    'latin1',
  );
}
