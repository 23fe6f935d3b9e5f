/** Column and parameter type codes (enum_field_types). */
export const COLUMN_TYPE = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

/** Column definition flags. */
export const COLUMN_FLAG = {
  NOT_NULL: 1,
  PRI_KEY: 2,
  UNIQUE_KEY: 4,
  MULTIPLE_KEY: 8,
  BLOB: 16,
  UNSIGNED: 32,
  ZEROFILL: 64,
  BINARY: 128,
  ENUM: 256,
  AUTO_INCREMENT: 512,
  TIMESTAMP: 1024,
  SET: 2048,
} as const;

/** The binary collation id: values of such columns are bytes, not text. */
export const BINARY_CHARSET = 63;

const FIXED_WIDTH: Readonly<Record<number, number>> = {
  [COLUMN_TYPE.TINY]: 1,
  [COLUMN_TYPE.SHORT]: 2,
  [COLUMN_TYPE.YEAR]: 2,
  [COLUMN_TYPE.LONG]: 4,
  [COLUMN_TYPE.INT24]: 4,
  [COLUMN_TYPE.FLOAT]: 4,
  [COLUMN_TYPE.LONGLONG]: 8,
  [COLUMN_TYPE.DOUBLE]: 8,
  [COLUMN_TYPE.NULL]: 0,
};

const LENGTH_PREFIXED_TEMPORAL: ReadonlySet<number> = new Set([
  COLUMN_TYPE.DATE,
  COLUMN_TYPE.DATETIME,
  COLUMN_TYPE.TIMESTAMP,
  COLUMN_TYPE.TIME,
  COLUMN_TYPE.NEWDATE,
  COLUMN_TYPE.DATETIME2,
  COLUMN_TYPE.TIMESTAMP2,
  COLUMN_TYPE.TIME2,
]);

/** How a value of this type is laid out in the binary protocol. */
export function binaryLayout(
  type: number,
): { kind: 'fixed'; width: number } | { kind: 'temporal' } | { kind: 'lenenc' } {
  const width = FIXED_WIDTH[type];
  if (width !== undefined) return { kind: 'fixed', width };
  if (LENGTH_PREFIXED_TEMPORAL.has(type)) return { kind: 'temporal' };
  return { kind: 'lenenc' };
}

/** Types whose values are character or byte strings (what masking can keep as text). */
export function isStringType(type: number): boolean {
  return (
    type === COLUMN_TYPE.VARCHAR ||
    type === COLUMN_TYPE.VAR_STRING ||
    type === COLUMN_TYPE.STRING ||
    type === COLUMN_TYPE.TINY_BLOB ||
    type === COLUMN_TYPE.MEDIUM_BLOB ||
    type === COLUMN_TYPE.LONG_BLOB ||
    type === COLUMN_TYPE.BLOB ||
    type === COLUMN_TYPE.ENUM ||
    type === COLUMN_TYPE.SET
  );
}
