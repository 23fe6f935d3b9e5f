import { COLUMN_TYPE } from '../codec/column-types.ts';
import type { ParamType } from '../codec/prepared-statements.ts';

/** A binary-protocol value as text, for the audit log and the content detectors. */
export function binaryValueText(type: ParamType, value: Buffer): string {
  switch (type.type) {
    case COLUMN_TYPE.TINY:
      return String(type.unsigned ? value.readUInt8(0) : value.readInt8(0));
    case COLUMN_TYPE.SHORT:
    case COLUMN_TYPE.YEAR:
      return String(type.unsigned ? value.readUInt16LE(0) : value.readInt16LE(0));
    case COLUMN_TYPE.LONG:
    case COLUMN_TYPE.INT24:
      return String(type.unsigned ? value.readUInt32LE(0) : value.readInt32LE(0));
    case COLUMN_TYPE.LONGLONG:
      return String(type.unsigned ? value.readBigUInt64LE(0) : value.readBigInt64LE(0));
    case COLUMN_TYPE.FLOAT:
      return String(value.readFloatLE(0));
    case COLUMN_TYPE.DOUBLE:
      return String(value.readDoubleLE(0));
    case COLUMN_TYPE.DATE:
    case COLUMN_TYPE.DATETIME:
    case COLUMN_TYPE.TIMESTAMP:
      return temporal(value);
    case COLUMN_TYPE.TIME:
      return `\\x${value.toString('hex')}`;
    default:
      return value.toString('utf8');
  }
}

function temporal(v: Buffer): string {
  if (v.length < 4) return '0000-00-00';
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${pad(v.readUInt16LE(0), 4)}-${pad(v[2]!)}-${pad(v[3]!)}`;
  return v.length >= 7 ? `${date} ${pad(v[4]!)}:${pad(v[5]!)}:${pad(v[6]!)}` : date;
}
