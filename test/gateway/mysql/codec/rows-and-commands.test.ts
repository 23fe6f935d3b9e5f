import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../../gateway/errors/gatehouse-error.ts';
import { COLUMN_TYPE } from '../../../../gateway/mysql/codec/column-types.ts';
import {
  COMMAND,
  commandName,
  decodeIdCommand,
  decodeSendLongData,
  decodeSetOption,
  decodeStmtFetch,
  decodeStringCommand,
  encodeIdCommand,
  encodeSendLongData,
  encodeSetOption,
  encodeStringCommand,
} from '../../../../gateway/mysql/codec/commands.ts';
import {
  decodeBulkExecute,
  decodePrepareOk,
  decodeStmtExecute,
  encodeBulkExecute,
  encodePrepareOk,
  encodeStmtExecute,
  type StmtExecute,
} from '../../../../gateway/mysql/codec/prepared-statements.ts';
import {
  decodeBinaryRow,
  decodeColumnCount,
  decodeTextRow,
  encodeBinaryRow,
  encodeColumnCount,
  encodeTextRow,
  type RowValue,
} from '../../../../gateway/mysql/codec/result-rows.ts';

const TYPES = [
  COLUMN_TYPE.TINY,
  COLUMN_TYPE.SHORT,
  COLUMN_TYPE.LONG,
  COLUMN_TYPE.LONGLONG,
  COLUMN_TYPE.DOUBLE,
  COLUMN_TYPE.DATETIME,
  COLUMN_TYPE.TIME,
  COLUMN_TYPE.VAR_STRING,
  COLUMN_TYPE.BLOB,
  COLUMN_TYPE.NEWDECIMAL,
];
const WIDTH: Record<number, number> = { 1: 1, 2: 2, 3: 4, 8: 8, 5: 8 };

/** A value valid for its type's binary layout. */
function valueFor(type: number): fc.Arbitrary<RowValue> {
  const width = WIDTH[type];
  const bytes =
    width !== undefined
      ? fc.uint8Array({ minLength: width, maxLength: width })
      : type === COLUMN_TYPE.DATETIME || type === COLUMN_TYPE.TIME
        ? fc.constantFrom(0, 4, 7, 8, 11, 12).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
        : fc.uint8Array({ maxLength: 300 });
  return fc.option(
    bytes.map((b) => Buffer.from(b)),
    { nil: null },
  );
}

const row = fc
  .array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 20 })
  .chain((types) => fc.tuple(fc.constant(types), fc.tuple(...types.map(valueFor))));

describe('result rows', () => {
  it('round-trips text rows with NULLs and long values', () => {
    const values = [Buffer.from('a'), null, Buffer.alloc(70000, 1), Buffer.alloc(0)];
    expect(decodeTextRow(encodeTextRow(values), 4)).toEqual(values);
  });

  it('round-trips binary rows of any mix of types, NULL bitmap included', () => {
    fc.assert(
      fc.property(row, ([types, values]) => {
        expect(decodeBinaryRow(encodeBinaryRow(values, types), types)).toEqual(values);
      }),
    );
  });

  it('puts NULLs in the bitmap with its two-bit offset', () => {
    const types = [COLUMN_TYPE.LONG, COLUMN_TYPE.VAR_STRING];
    const encoded = encodeBinaryRow([null, Buffer.from('x')], types);
    expect([...encoded]).toEqual([0x00, 0b100, 1, 0x78]);
  });

  it('refuses a text row with fewer values than columns, or trailing bytes', () => {
    const encoded = encodeTextRow([Buffer.from('a')]);
    expect(() => decodeTextRow(encoded, 2)).toThrow(/runs past the end/);
    expect(() => decodeTextRow(Buffer.concat([encoded, Buffer.from([0])]), 1)).toThrow(/trailing/);
  });

  it('round-trips column counts and refuses zero columns', () => {
    expect(decodeColumnCount(encodeColumnCount(300))).toBe(300);
    expect(() => decodeColumnCount(Buffer.from([0]))).toThrow(/zero columns/);
  });
});

describe('commands', () => {
  it('round-trips the string, id and option commands', () => {
    expect(decodeStringCommand(encodeStringCommand(COMMAND.QUERY, 'SELECT 1'), COMMAND.QUERY)).toBe('SELECT 1');
    expect(decodeIdCommand(encodeIdCommand(COMMAND.STMT_CLOSE, 2 ** 32 - 1), COMMAND.STMT_CLOSE)).toBe(2 ** 32 - 1);
    expect(decodeSetOption(encodeSetOption(1))).toBe(1);
    const long = { statementId: 9, parameter: 2, data: Buffer.from('chunk') };
    expect(decodeSendLongData(encodeSendLongData(long))).toEqual(long);
    expect(commandName(COMMAND.BINLOG_DUMP)).toBe('COM_BINLOG_DUMP');
    expect(commandName(0x99)).toBe('command 0x99');
  });

  it('refuses a command decoded as another', () => {
    expect(() => decodeIdCommand(encodeIdCommand(COMMAND.STMT_RESET, 1), COMMAND.STMT_CLOSE)).toThrow(/COM_STMT_CLOSE/);
  });
});

describe('prepared statements', () => {
  it('round-trips COM_STMT_PREPARE_OK', () => {
    const ok = { statementId: 5, columnCount: 3, paramCount: 2, warnings: 0 };
    expect(decodePrepareOk(encodePrepareOk(ok))).toEqual(ok);
  });

  it('round-trips COM_STMT_EXECUTE with new types, NULLs and long data', () => {
    const e: StmtExecute = {
      statementId: 1,
      flags: 0,
      iterationCount: 1,
      newParamsBound: true,
      types: [
        { type: COLUMN_TYPE.LONGLONG, unsigned: true },
        { type: COLUMN_TYPE.VAR_STRING, unsigned: false },
        { type: COLUMN_TYPE.BLOB, unsigned: false },
        { type: COLUMN_TYPE.DATETIME, unsigned: false },
      ],
      values: [Buffer.alloc(8, 1), null, 'long-data', Buffer.from([0xe8, 0x07, 1, 2])],
    };
    expect(decodeStmtExecute(encodeStmtExecute(e), { paramCount: 4, longData: new Set([2]) })).toEqual(e);
  });

  it('decodes an execute that reuses the previous types, and refuses one with none to reuse', () => {
    const types = [{ type: COLUMN_TYPE.TINY, unsigned: false }];
    const e: StmtExecute = {
      statementId: 1,
      flags: 0,
      iterationCount: 1,
      newParamsBound: false,
      types,
      values: [Buffer.from([7])],
    };
    const bytes = encodeStmtExecute(e);
    expect(decodeStmtExecute(bytes, { paramCount: 1, previousTypes: types })).toEqual(e);
    expect(() => decodeStmtExecute(bytes, { paramCount: 1 })).toThrow(/none were bound before/);
  });

  it("round-trips MariaDB's COM_STMT_BULK_EXECUTE with indicators", () => {
    const b = {
      statementId: 3,
      flags: 128,
      types: [
        { type: COLUMN_TYPE.LONG, unsigned: false },
        { type: COLUMN_TYPE.VAR_STRING, unsigned: false },
      ],
      rows: [
        [Buffer.alloc(4, 2), Buffer.from('a')],
        [null, 'default' as const],
      ],
    };
    expect(decodeBulkExecute(encodeBulkExecute(b), 2)).toEqual(b);
  });

  it('fail only with mysql.malformed on garbage', () => {
    const decoders: ((b: Buffer) => unknown)[] = [
      decodePrepareOk,
      (b) => decodeStmtExecute(b, { paramCount: 3 }),
      (b) => decodeBulkExecute(b, 2),
      (b) => decodeTextRow(b, 3),
      (b) => decodeBinaryRow(b, [COLUMN_TYPE.LONG, COLUMN_TYPE.BLOB, COLUMN_TYPE.TIME]),
      decodeColumnCount,
      decodeSetOption,
      decodeStmtFetch,
      decodeSendLongData,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(decoders.length - 1), (bytes, which) => {
        try {
          decoders[which]!(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(GatehouseError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
