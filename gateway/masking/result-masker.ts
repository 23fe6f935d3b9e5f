import { GatehouseError } from '../errors/gatehouse-error.ts';
import { binaryValueTexts } from './binary-values.ts';
import { maskWhole, strictest, stricter, type ColumnMask } from './column-mask.ts';
import type { ContentMasker } from '../content/detectors.ts';
import { REDACTED, REDACTED_BYTES } from '../content/redaction.ts';
import type { RowsPlan } from './mask-plan.ts';
import {
  BYTEA_OID,
  TEXT_VALUED_OIDS,
  decodeByteaText,
  detectInBytes,
  detectInText,
  maskValue,
  type MaskCounts,
  type ValueOutcome,
} from './value-mask.ts';

/** The RowDescription field shape of pg-protocol (`Field`), of which masking needs these members. */
export interface ResultField {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  /** pg-protocol's `'text' | 'binary'`, or the raw format code (0 text, 1 binary). */
  format: 'text' | 'binary' | number;
}

/** Rewrites one DataRow message (full message, 'D' header included); returns the same Buffer when nothing changes. */
export type RowTransform = (row: Buffer) => Buffer;

/** A row transform with its per-field masks and audit counters. */
export interface RowMasker {
  transform: RowTransform;
  masks: readonly ColumnMask[];
  counts: Readonly<MaskCounts>;
}

const JSONB_OID = 3802;
const SAME: ValueOutcome = Object.freeze({ kind: 'same' });
const REDACTED_TEXT = REDACTED;
const REDACTED_BUFFER = REDACTED_BYTES;

/** Copies bytes; short runs by hand, which beats Buffer#copy's per-call overhead for DataRow-sized cells. */
function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): number {
  const n = end - start;
  if (n > 48) return src.copy(dst, at, start, end);
  for (let i = 0; i < n; i++) dst[at + i] = src[start + i]!;
  return n;
}

/** Types whose values cannot spell a secret (too short, or fixed shapes like uuid): detectors skip them. */
const SECRET_FREE_OIDS: ReadonlySet<number> = new Set([
  16, 21, 23, 26, 28, 700, 701, 1082, 1083, 1114, 1184, 1186, 1266, 2950,
]);

/**
 * Final mask of each result field: the plan's column (when the plan's width and names match the
 * RowDescription), made stricter by the field's catalog origin. With names out of line every
 * field gets the strictest planned mask (all raw stays raw: each column was proven raw); a width
 * mismatch, or an origin in a relation the analysis never resolved, is never raw.
 */
export function resolveFieldMasks(plan: RowsPlan, fields: readonly ResultField[]): ColumnMask[] {
  const planned = plan.columns;
  const sameWidth = planned !== null && planned.length === fields.length;
  const aligned = sameWidth && planned.every((c, i) => c.name === null || c.name === fields[i]!.name);
  const everything = strictest([plan.fallback, ...(planned ?? []).map((c) => c.mask)]);
  const unaligned = sameWidth
    ? everything
    : stricter(everything, maskWhole('result columns do not match the analysed statement'));
  return fields.map((field, i) => {
    let mask = aligned ? planned![i]!.mask : planned === null ? plan.fallback : unaligned;
    if (field.tableID !== 0 && field.columnID > 0 && !plan.detectorsOnly) {
      const origin = plan.origins.get(`${field.tableID}:${field.columnID}`);
      if (origin) mask = stricter(mask, origin);
      else
        mask = stricter(
          mask,
          maskWhole(`column ${field.columnID} of relation ${field.tableID} has unknown provenance`),
        );
    }
    return mask;
  });
}

function isBinary(field: ResultField): boolean {
  return field.format === 'binary' || field.format === 1;
}

/**
 * Builds the transform for one result set. Masked text stays text (`****`, or `****0005` with
 * keep_last); masked values of other types become NULL; raw text values go through the content
 * detectors. Rows are rebuilt only when a cell changes.
 */
export function createRowTransform(plan: RowsPlan, fields: readonly ResultField[], content: ContentMasker): RowMasker {
  const masks = resolveFieldMasks(plan, fields);
  const counts: MaskCounts = { masked: 0, detected: 0 };
  const idle = !content.active && masks.every((m) => m.kind === 'raw');
  const cell = fields.map((field, i) => cellMasker(field, masks[i]!, content, counts));
  const starts = new Int32Array(fields.length);
  const ends = new Int32Array(fields.length);
  const outcomes: ValueOutcome[] = new Array(fields.length).fill(SAME);
  const scratch: (Buffer | null | undefined)[] = new Array(fields.length).fill(undefined);
  const transform: RowTransform = (row) => {
    if (idle) return row;
    if (row[0] !== 0x44)
      throw new GatehouseError(
        'masking.not-a-data-row',
        'masking expected a DataRow message; the adapter passed another message type',
      );
    const count = row.readInt16BE(5);
    if (count !== fields.length) return nullRow(count, counts);
    let offset = 7;
    let changed = false;
    for (let i = 0; i < count; i++) {
      const len = row.readInt32BE(offset);
      const start = offset + 4;
      const end = len < 0 ? start : start + len;
      starts[i] = offset;
      ends[i] = end;
      const outcome = len >= 0 ? cell[i]!(row, start, end) : SAME;
      outcomes[i] = outcome;
      if (outcome !== SAME && outcome.kind !== 'same') changed = true;
      offset = end;
    }
    return changed ? rebuild(row, count, starts, ends, outcomes, scratch) : row;
  };
  return { transform, masks, counts };
}

type CellMasker = (row: Buffer, start: number, end: number) => ValueOutcome;

function cellMasker(field: ResultField, mask: ColumnMask, content: ContentMasker, counts: MaskCounts): CellMasker {
  const binary = isBinary(field);
  const type = field.dataTypeID;
  const textual = TEXT_VALUED_OIDS.has(type) || type === 114 || type === 142;
  if (mask.kind !== 'raw') {
    const typeForMask = binary && !textual ? -1 : type;
    if (mask.kind === 'mask-column' && mask.keepLast > 0) {
      return (row, start, end) => maskValue(row.toString('utf8', start, end), mask, typeForMask, counts);
    }
    const fixed = maskValue('', mask, typeForMask, { masked: 0, detected: 0 });
    return () => {
      counts.masked++;
      return fixed;
    };
  }
  if (!content.active || SECRET_FREE_OIDS.has(type)) return () => SAME;
  if (type === BYTEA_OID) {
    return (row, start, end) => {
      const bytes = binary ? row.subarray(start, end) : decodeByteaText(row.toString('latin1', start, end));
      return content.mightMatch(bytes, 0, bytes.length) ? detectInBytes(bytes, content, counts) : SAME;
    };
  }
  if (binary && type === JSONB_OID) {
    return (row, start, end) => {
      if (!content.mightMatch(row, start + 1, end)) return SAME;
      const out = detectInText(row.toString('utf8', start + 1, end), type, content, counts);
      return out.kind === 'same' ? out : { kind: 'null' };
    };
  }
  if (binary && !textual) {
    // Arrays, records and other binary layouts: scan the text inside; a value holding a secret is withheld whole.
    return (row, start, end) => {
      if (!content.mightMatch(row, start, end)) return SAME;
      const texts = binaryValueTexts(row.subarray(start, end), type, SECRET_FREE_OIDS);
      let found = false;
      for (const text of texts) if (detectInText(text, undefined, content, counts).kind !== 'same') found = true;
      return found ? { kind: 'null' } : SAME;
    };
  }
  return (row, start, end) =>
    content.mightMatch(row, start, end) ? detectInText(row.toString('utf8', start, end), type, content, counts) : SAME;
}

/** Rebuilds a DataRow: runs of unchanged bytes (the header included) are copied in one call each. */
function rebuild(
  row: Buffer,
  count: number,
  starts: Int32Array,
  ends: Int32Array,
  outcomes: ValueOutcome[],
  values: (Buffer | null | undefined)[],
): Buffer {
  let size = 7;
  for (let i = 0; i < count; i++) {
    const o = outcomes[i]!;
    const v =
      o.kind === 'same'
        ? undefined
        : o.kind === 'null'
          ? null
          : o.text === REDACTED_TEXT
            ? REDACTED_BUFFER
            : Buffer.from(o.text, 'utf8');
    values[i] = v;
    size += v === undefined ? ends[i]! - starts[i]! : 4 + (v === null ? 0 : v.length);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let runStart = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (v === undefined) continue;
    at += copyBytes(row, runStart, starts[i]!, out, at);
    if (v === null) at = out.writeInt32BE(-1, at);
    else {
      at = out.writeInt32BE(v.length, at);
      at += copyBytes(v, 0, v.length, out, at);
    }
    runStart = ends[i]!;
  }
  copyBytes(row, runStart, row.length, out, at);
  out.writeInt32BE(size - 1, 1);
  return out;
}

function nullRow(count: number, counts: MaskCounts): Buffer {
  const out = Buffer.alloc(7 + 4 * count);
  out[0] = 0x44;
  out.writeInt32BE(out.length - 1, 1);
  out.writeInt16BE(count, 5);
  for (let i = 0; i < count; i++) out.writeInt32BE(-1, 7 + 4 * i);
  counts.masked += count;
  return out;
}
