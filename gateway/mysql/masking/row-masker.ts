import type { ColumnMask } from '../../masking/column-mask.ts';
import type { ContentMasker } from '../../content/detectors.ts';
import { redact, REDACTED_BYTES } from '../../content/redaction.ts';
import type { ColumnDefinition } from '../codec/column-definition.ts';
import { BINARY_CHARSET, COLUMN_FLAG, COLUMN_TYPE } from '../codec/column-types.ts';
import type { RowValue } from '../codec/result-rows.ts';
import type { MysqlRowTransform } from '../mysql-gate.ts';

const TEXT_TYPES: ReadonlySet<number> = new Set([
  COLUMN_TYPE.VARCHAR,
  COLUMN_TYPE.TINY_BLOB,
  COLUMN_TYPE.MEDIUM_BLOB,
  COLUMN_TYPE.LONG_BLOB,
  COLUMN_TYPE.BLOB,
  COLUMN_TYPE.VAR_STRING,
  COLUMN_TYPE.STRING,
]);

/** Whether any string is a valid value of the column, so a masked value can stay text (else it becomes NULL). */
export function isTextValued(column: ColumnDefinition): boolean {
  if (!TEXT_TYPES.has(column.type) || column.characterSet === BINARY_CHARSET) return false;
  return (column.flags & (COLUMN_FLAG.ENUM | COLUMN_FLAG.SET)) === 0;
}

const INT_WIDTHS: Readonly<Record<number, number>> = {
  [COLUMN_TYPE.TINY]: 1,
  [COLUMN_TYPE.SHORT]: 2,
  [COLUMN_TYPE.YEAR]: 2,
  [COLUMN_TYPE.INT24]: 4,
  [COLUMN_TYPE.LONG]: 4,
  [COLUMN_TYPE.LONGLONG]: 8,
};

/** The text a detector reads of a value: what a client would show (binary numbers rendered in decimal). */
function detectorText(value: Buffer, column: ColumnDefinition, binary: boolean): string {
  if (!binary) return value.toString(isTextValued(column) ? 'utf8' : 'latin1');
  const width = INT_WIDTHS[column.type];
  const unsigned = (column.flags & COLUMN_FLAG.UNSIGNED) !== 0;
  if (width !== undefined && value.length === width) {
    if (width === 8) return String(unsigned ? value.readBigUInt64LE() : value.readBigInt64LE());
    return String(unsigned ? value.readUIntLE(0, width) : value.readIntLE(0, width));
  }
  if (column.type === COLUMN_TYPE.DOUBLE && value.length === 8) return String(value.readDoubleLE());
  if (column.type === COLUMN_TYPE.FLOAT && value.length === 4) return String(value.readFloatLE());
  return value.toString(isTextValued(column) ? 'utf8' : 'latin1');
}

/**
 * Masks the rows of one result set: column rules (`****`, or `****6789` with keep_last),
 * whole-value masks, and the content detectors over every value left in clear. Masked values
 * of columns that cannot hold text become NULL (the binary row's NULL bitmap is rebuilt).
 */
export class MysqlRowMasker implements MysqlRowTransform {
  maskedCount = 0;
  private readonly text: boolean[];

  constructor(
    private readonly columns: readonly ColumnDefinition[],
    private readonly masks: readonly ColumnMask[],
    private readonly content: ContentMasker,
    private readonly binary: boolean,
  ) {
    this.text = columns.map(isTextValued);
  }

  transform(values: RowValue[]): RowValue[] | undefined {
    let changed = false;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) continue;
      const next = this.maskOne(i, value);
      if (next !== value) {
        values[i] = next;
        changed = true;
      }
    }
    return changed ? values : undefined;
  }

  private maskOne(i: number, value: Buffer): RowValue {
    const mask = this.masks[i] ?? { kind: 'mask-whole', reason: 'a column the plan did not expect' };
    const text = this.text[i]!;
    if (mask.kind === 'mask-column') {
      this.maskedCount++;
      if (!text) return null;
      return mask.keepLast > 0 ? Buffer.from(redact(value.toString('utf8'), mask.keepLast), 'utf8') : REDACTED_BYTES;
    }
    if (mask.kind === 'mask-whole') {
      this.maskedCount++;
      return text ? REDACTED_BYTES : null;
    }
    return this.detect(i, value, text);
  }

  private detect(i: number, value: Buffer, text: boolean): RowValue {
    if (!this.content.active) return value;
    const column = this.columns[i]!;
    const plainBytes = text || !this.binary;
    if (plainBytes && !this.content.mightMatch(value, 0, value.length)) return value;
    const found = this.content.maskText(detectorText(value, column, this.binary));
    if (found.count === 0) return value;
    this.maskedCount++;
    return text ? Buffer.from(found.text, 'utf8') : null;
  }
}
