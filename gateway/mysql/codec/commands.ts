import { malformed, PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';

/** Command bytes of the command phase (the first byte of each client packet). */
export const COMMAND = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  CLONE: 0x20,
  /** MariaDB: array binding of a prepared statement. */
  STMT_BULK_EXECUTE: 0xfa,
  /** MariaDB: several commands in one packet. */
  MULTI: 0xfe,
} as const;

export type CommandName = keyof typeof COMMAND;

const NAMES = new Map<number, CommandName>(Object.entries(COMMAND).map(([k, v]) => [v, k as CommandName]));

/** COM_xxx name of a command byte, for messages ("COM_BINLOG_DUMP"); hex when unknown. */
export function commandName(code: number): string {
  const name = NAMES.get(code);
  return name ? `COM_${name}` : `command 0x${code.toString(16).padStart(2, '0')}`;
}

/** Commands whose whole argument is one string (COM_QUERY's SQL, COM_INIT_DB's schema, COM_STMT_PREPARE's SQL). */
export function decodeStringCommand(payload: Buffer, code: number): string {
  if (payload[0] !== code) throw malformed(`expected ${commandName(code)}`);
  return payload.toString('utf8', 1);
}

export function encodeStringCommand(code: number, text: string | Buffer): Buffer {
  const w = new PayloadWriter(typeof text === 'string' ? text.length + 8 : text.length + 1).int1(code);
  return (typeof text === 'string' ? w.string(text) : w.bytes(text)).finish();
}

/** Commands whose argument is one 4-byte id: COM_STMT_CLOSE, COM_STMT_RESET, COM_PROCESS_KILL. */
export function decodeIdCommand(payload: Buffer, code: number): number {
  const r = new PayloadReader(payload);
  if (r.int1() !== code) throw malformed(`expected ${commandName(code)}`);
  const id = r.int4();
  r.end(commandName(code));
  return id;
}

export function encodeIdCommand(code: number, id: number): Buffer {
  return new PayloadWriter(5).int1(code).int4(id).finish();
}

/** COM_SET_OPTION's options. */
export const SET_OPTION = { MULTI_STATEMENTS_ON: 0, MULTI_STATEMENTS_OFF: 1 } as const;

export function decodeSetOption(payload: Buffer): number {
  const r = new PayloadReader(payload);
  if (r.int1() !== COMMAND.SET_OPTION) throw malformed('expected COM_SET_OPTION');
  const option = r.int2();
  r.end('COM_SET_OPTION');
  return option;
}

export function encodeSetOption(option: number): Buffer {
  return new PayloadWriter(3).int1(COMMAND.SET_OPTION).int2(option).finish();
}

/** COM_STMT_FETCH: rows of an open cursor. */
export function decodeStmtFetch(payload: Buffer): { statementId: number; rows: number } {
  const r = new PayloadReader(payload);
  if (r.int1() !== COMMAND.STMT_FETCH) throw malformed('expected COM_STMT_FETCH');
  const statementId = r.int4();
  const rows = r.int4();
  r.end('COM_STMT_FETCH');
  return { statementId, rows };
}

/** COM_STMT_SEND_LONG_DATA: a chunk of one parameter's value, sent before the execute; no reply. */
export interface SendLongData {
  statementId: number;
  parameter: number;
  data: Buffer;
}

export function decodeSendLongData(payload: Buffer): SendLongData {
  const r = new PayloadReader(payload);
  if (r.int1() !== COMMAND.STMT_SEND_LONG_DATA) throw malformed('expected COM_STMT_SEND_LONG_DATA');
  return { statementId: r.int4(), parameter: r.int2(), data: r.rest() };
}

export function encodeSendLongData(s: SendLongData): Buffer {
  return new PayloadWriter(s.data.length + 7)
    .int1(COMMAND.STMT_SEND_LONG_DATA)
    .int4(s.statementId)
    .int2(s.parameter)
    .bytes(s.data)
    .finish();
}
