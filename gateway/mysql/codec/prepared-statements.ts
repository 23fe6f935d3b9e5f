import { COMMAND } from './commands.ts';
import { binaryLayout } from './column-types.ts';
import { malformed, PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';
import type { RowValue } from './result-rows.ts';

/** COM_STMT_PREPARE_OK: the head of a prepare's reply; parameter and column definitions follow. */
export interface PrepareOk {
  statementId: number;
  columnCount: number;
  paramCount: number;
  warnings: number;
}

export function decodePrepareOk(payload: Buffer): PrepareOk {
  const r = new PayloadReader(payload);
  if (r.int1() !== 0x00) throw malformed('COM_STMT_PREPARE_OK without its 0x00 header');
  const statementId = r.int4();
  const columnCount = r.int2();
  const paramCount = r.int2();
  r.skip(1);
  const warnings = r.remaining >= 2 ? r.int2() : 0;
  if (r.remaining > 0) throw malformed('COM_STMT_PREPARE_OK with optional metadata (not negotiated)');
  return { statementId, columnCount, paramCount, warnings };
}

export function encodePrepareOk(p: PrepareOk): Buffer {
  return new PayloadWriter(12)
    .int1(0)
    .int4(p.statementId)
    .int2(p.columnCount)
    .int2(p.paramCount)
    .int1(0)
    .int2(p.warnings)
    .finish();
}

/** A parameter's type as COM_STMT_EXECUTE binds it: the type code and the unsigned flag (0x80). */
export interface ParamType {
  type: number;
  unsigned: boolean;
}

/** COM_STMT_EXECUTE's cursor flags; anything but NO_CURSOR opens a server-side cursor. */
export const CURSOR = { NO_CURSOR: 0, READ_ONLY: 1, FOR_UPDATE: 2, SCROLLABLE: 4 } as const;

export interface StmtExecute {
  statementId: number;
  flags: number;
  iterationCount: number;
  /** Whether this packet carries the parameter types (else the previous execute's types apply). */
  newParamsBound: boolean;
  types: ParamType[];
  /** One value per parameter: NULL, bytes in the type's binary layout, or 'long-data' (sent before). */
  values: (RowValue | 'long-data')[];
}

export interface ExecuteContext {
  paramCount: number;
  /** Types bound by the statement's previous execute (used when this one does not send them). */
  previousTypes?: readonly ParamType[];
  /** Parameters that received COM_STMT_SEND_LONG_DATA since the last execute (their value is not in the packet). */
  longData?: ReadonlySet<number>;
}

function readValue(r: PayloadReader, type: number): Buffer {
  const layout = binaryLayout(type);
  if (layout.kind === 'fixed') return r.bytes(layout.width);
  if (layout.kind === 'temporal') return r.bytes(r.int1());
  return r.lenencBytes();
}

function writeValue(w: PayloadWriter, type: number, value: Buffer): void {
  const layout = binaryLayout(type);
  if (layout.kind === 'temporal') w.int1(value.length).bytes(value);
  else if (layout.kind === 'fixed') w.bytes(value);
  else w.lenencBytes(value);
}

export function decodeStmtExecute(payload: Buffer, context: ExecuteContext): StmtExecute {
  const r = new PayloadReader(payload);
  if (r.int1() !== COMMAND.STMT_EXECUTE) throw malformed('expected COM_STMT_EXECUTE');
  const statementId = r.int4();
  const flags = r.int1();
  const iterationCount = r.int4();
  const n = context.paramCount;
  if (n === 0) {
    r.end('COM_STMT_EXECUTE of a statement without parameters');
    return { statementId, flags, iterationCount, newParamsBound: false, types: [], values: [] };
  }
  const bitmap = r.bytes((n + 7) >> 3);
  const newParamsBound = r.int1() === 1;
  let types: ParamType[];
  if (newParamsBound) {
    types = [];
    for (let i = 0; i < n; i++) {
      const type = r.int1();
      types.push({ type, unsigned: (r.int1() & 0x80) !== 0 });
    }
  } else {
    if (!context.previousTypes || context.previousTypes.length !== n)
      throw malformed('COM_STMT_EXECUTE without parameter types, and none were bound before');
    types = [...context.previousTypes];
  }
  const values: StmtExecute['values'] = [];
  for (let i = 0; i < n; i++) {
    if (bitmap[i >> 3]! & (1 << (i & 7))) values.push(null);
    else if (context.longData?.has(i)) values.push('long-data');
    else values.push(readValue(r, types[i]!.type));
  }
  r.end('COM_STMT_EXECUTE');
  return { statementId, flags, iterationCount, newParamsBound, types, values };
}

export function encodeStmtExecute(e: StmtExecute): Buffer {
  const w = new PayloadWriter(64).int1(COMMAND.STMT_EXECUTE).int4(e.statementId).int1(e.flags).int4(e.iterationCount);
  const n = e.values.length;
  if (n === 0) return w.finish();
  const bitmap = Buffer.alloc((n + 7) >> 3);
  e.values.forEach((v, i) => {
    if (v === null) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  w.bytes(bitmap).int1(e.newParamsBound ? 1 : 0);
  if (e.newParamsBound) for (const t of e.types) w.int1(t.type).int1(t.unsigned ? 0x80 : 0);
  e.values.forEach((v, i) => {
    if (v !== null && v !== 'long-data') writeValue(w, e.types[i]!.type, v);
  });
  return w.finish();
}

/** MariaDB COM_STMT_BULK_EXECUTE flags and per-value indicators. */
export const BULK = { SEND_UNIT_RESULTS: 64, SEND_TYPES_TO_SERVER: 128 } as const;
export const INDICATOR = { NONE: 0, NULL: 1, DEFAULT: 2, IGNORE: 3 } as const;

export interface BulkExecute {
  statementId: number;
  flags: number;
  types: ParamType[];
  /** Rows of values: bytes, NULL, or the DEFAULT/IGNORE indicators. */
  rows: (RowValue | 'default' | 'ignore')[][];
}

export function decodeBulkExecute(
  payload: Buffer,
  paramCount: number,
  previousTypes?: readonly ParamType[],
): BulkExecute {
  const r = new PayloadReader(payload);
  if (r.int1() !== COMMAND.STMT_BULK_EXECUTE) throw malformed('expected COM_STMT_BULK_EXECUTE');
  const statementId = r.int4();
  const flags = r.int2();
  let types: ParamType[];
  if (flags & BULK.SEND_TYPES_TO_SERVER) {
    types = [];
    for (let i = 0; i < paramCount; i++) {
      const type = r.int1();
      types.push({ type, unsigned: (r.int1() & 0x80) !== 0 });
    }
  } else if (previousTypes && previousTypes.length === paramCount) {
    types = [...previousTypes];
  } else {
    throw malformed('COM_STMT_BULK_EXECUTE without parameter types');
  }
  const rows: BulkExecute['rows'] = [];
  if (paramCount === 0) r.end('COM_STMT_BULK_EXECUTE of a statement without parameters');
  while (r.remaining > 0) {
    const row: BulkExecute['rows'][number] = [];
    for (let i = 0; i < paramCount; i++) {
      const indicator = r.int1();
      if (indicator === INDICATOR.NONE) row.push(readValue(r, types[i]!.type));
      else if (indicator === INDICATOR.NULL) row.push(null);
      else if (indicator === INDICATOR.DEFAULT) row.push('default');
      else if (indicator === INDICATOR.IGNORE) row.push('ignore');
      else throw malformed(`bulk indicator ${indicator}`);
    }
    rows.push(row);
  }
  return { statementId, flags, types, rows };
}

export function encodeBulkExecute(b: BulkExecute): Buffer {
  const w = new PayloadWriter(64).int1(COMMAND.STMT_BULK_EXECUTE).int4(b.statementId).int2(b.flags);
  if (b.flags & BULK.SEND_TYPES_TO_SERVER) for (const t of b.types) w.int1(t.type).int1(t.unsigned ? 0x80 : 0);
  for (const row of b.rows) {
    row.forEach((v, i) => {
      if (v === null) w.int1(INDICATOR.NULL);
      else if (v === 'default') w.int1(INDICATOR.DEFAULT);
      else if (v === 'ignore') w.int1(INDICATOR.IGNORE);
      else writeValue(w.int1(INDICATOR.NONE), b.types[i]!.type, v);
    });
  }
  return w.finish();
}
