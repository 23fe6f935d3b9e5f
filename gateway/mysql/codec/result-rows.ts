import { binaryLayout } from './column-types.ts';
import { malformed, PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';

/** A row value: raw bytes as the protocol carries them (text: the text; binary: the type's encoding), or NULL. */
export type RowValue = Buffer | null;

/** Protocol::ResultsetRow of the text protocol: one length-encoded string (or 0xFB NULL) per column. */
export function decodeTextRow(payload: Buffer, columnCount: number): RowValue[] {
  const r = new PayloadReader(payload);
  const values: RowValue[] = new Array(columnCount);
  for (let i = 0; i < columnCount; i++) {
    const length = r.lenencOrNull();
    values[i] = length === null ? null : r.bytes(length);
  }
  r.end(`a text row of ${columnCount} columns`);
  return values;
}

export function encodeTextRow(values: readonly RowValue[]): Buffer {
  let size = 0;
  for (const v of values) size += v === null ? 1 : v.length + 9;
  const w = new PayloadWriter(size);
  for (const value of values) {
    if (value === null) w.int1(0xfb);
    else w.lenencBytes(value);
  }
  return w.finish();
}

/** Bytes of the binary row's NULL bitmap for `count` columns (its first two bits are reserved). */
export function binaryRowBitmapBytes(count: number): number {
  return (count + 9) >> 3;
}

function readBinaryValue(r: PayloadReader, type: number): Buffer {
  const layout = binaryLayout(type);
  if (layout.kind === 'fixed') return r.bytes(layout.width);
  if (layout.kind === 'temporal') return r.bytes(r.int1());
  return r.lenencBytes();
}

function writeBinaryValue(w: PayloadWriter, type: number, value: Buffer): void {
  const layout = binaryLayout(type);
  if (layout.kind === 'fixed') {
    if (value.length !== layout.width) throw new RangeError(`type ${type} takes ${layout.width} bytes`);
    w.bytes(value);
  } else if (layout.kind === 'temporal') {
    w.int1(value.length).bytes(value);
  } else {
    w.lenencBytes(value);
  }
}

/**
 * Protocol::BinaryResultsetRow: a 0x00 header, a NULL bitmap with a 2-bit offset, then the
 * non-NULL values in the layout of each column's type.
 */
export function decodeBinaryRow(payload: Buffer, types: readonly number[]): RowValue[] {
  const r = new PayloadReader(payload);
  if (r.int1() !== 0x00) throw malformed('binary row without its 0x00 header');
  const bitmap = r.bytes(binaryRowBitmapBytes(types.length));
  const values: RowValue[] = new Array(types.length);
  for (let i = 0; i < types.length; i++) {
    const bit = i + 2;
    values[i] = bitmap[bit >> 3]! & (1 << (bit & 7)) ? null : readBinaryValue(r, types[i]!);
  }
  r.end(`a binary row of ${types.length} columns`);
  return values;
}

export function encodeBinaryRow(values: readonly RowValue[], types: readonly number[]): Buffer {
  const bitmap = Buffer.alloc(binaryRowBitmapBytes(types.length));
  let size = 1 + bitmap.length;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      const bit = i + 2;
      bitmap[bit >> 3]! |= 1 << (bit & 7);
    } else {
      size += value.length + 9;
    }
  }
  const w = new PayloadWriter(size).int1(0x00).bytes(bitmap);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value !== null && value !== undefined) writeBinaryValue(w, types[i]!, value);
  }
  return w.finish();
}

/** The column count that starts a result set (a length-encoded integer alone in its packet). */
export function decodeColumnCount(payload: Buffer): number {
  const r = new PayloadReader(payload);
  const count = r.lenenc();
  // MariaDB's CACHE_METADATA adds a "metadata follows" byte; the gateway never enables it.
  r.end('a column count');
  if (count === 0) throw malformed('a result set of zero columns');
  return count;
}

export function encodeColumnCount(count: number): Buffer {
  return new PayloadWriter(9).lenenc(count).finish();
}
