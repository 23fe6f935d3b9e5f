import { PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';

/**
 * Protocol::ColumnDefinition41. `orgTable`/`orgName` name the base column only for plain
 * column references (empty for expressions, the view's name for views), so masking treats
 * them as a cross-check, never as the source of provenance.
 */
export interface ColumnDefinition {
  catalog: string;
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  /** MariaDB's extended type info block (MARIADB_CLIENT_EXTENDED_TYPE_INFO), raw. */
  extendedInfo?: Buffer;
  characterSet: number;
  columnLength: number;
  type: number;
  flags: number;
  decimals: number;
  /** Bytes after the fixed fields (COM_FIELD_LIST's default value), kept as they came. */
  tail: Buffer;
}

export function decodeColumnDefinition(payload: Buffer, extendedTypeInfo = false): ColumnDefinition {
  const r = new PayloadReader(payload);
  const catalog = r.lenencString();
  const schema = r.lenencString();
  const table = r.lenencString();
  const orgTable = r.lenencString();
  const name = r.lenencString();
  const orgName = r.lenencString();
  const extendedInfo = extendedTypeInfo ? Buffer.from(r.lenencBytes()) : undefined;
  const fixed = new PayloadReader(r.lenencBytes());
  const characterSet = fixed.int2();
  const columnLength = fixed.int4();
  const type = fixed.int1();
  const flags = fixed.int2();
  const decimals = fixed.int1();
  return {
    catalog,
    schema,
    table,
    orgTable,
    name,
    orgName,
    ...(extendedInfo ? { extendedInfo } : {}),
    characterSet,
    columnLength,
    type,
    flags,
    decimals,
    tail: Buffer.from(r.rest()),
  };
}

export function encodeColumnDefinition(c: ColumnDefinition): Buffer {
  const w = new PayloadWriter(64)
    .lenencString(c.catalog)
    .lenencString(c.schema)
    .lenencString(c.table)
    .lenencString(c.orgTable)
    .lenencString(c.name)
    .lenencString(c.orgName);
  if (c.extendedInfo) w.lenencBytes(c.extendedInfo);
  return w
    .lenenc(0x0c)
    .int2(c.characterSet)
    .int4(c.columnLength)
    .int1(c.type)
    .int2(c.flags)
    .int1(c.decimals)
    .int2(0)
    .bytes(c.tail)
    .finish();
}
