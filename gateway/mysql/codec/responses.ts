import { CAPABILITY, has, SERVER_STATUS } from './capabilities.ts';
import { malformed, PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';

/** First bytes that tell generic responses apart. */
export const RESPONSE = { OK: 0x00, LOCAL_INFILE: 0xfb, EOF: 0xfe, ERR: 0xff } as const;

/** Session-state changes the server reports in OK packets (CLIENT_SESSION_TRACK). */
export const SESSION_TRACK = {
  SYSTEM_VARIABLES: 0,
  SCHEMA: 1,
  STATE_CHANGE: 2,
  GTIDS: 3,
  TRANSACTION_CHARACTERISTICS: 4,
  TRANSACTION_STATE: 5,
} as const;

export interface SessionStateChange {
  type: number;
  /** For SYSTEM_VARIABLES: the variable name; for SCHEMA: the schema; otherwise undefined. */
  name?: string;
  value?: string;
  /** The raw data of the entry (so unknown types survive re-encoding). */
  data: Buffer;
}

export interface OkPacket {
  /** 0x00, or 0xFE for the OK that ends a result set under CLIENT_DEPRECATE_EOF. */
  header: 0x00 | 0xfe;
  affectedRows: number;
  lastInsertId: number;
  statusFlags: number;
  warnings: number;
  info: string;
  sessionState: SessionStateChange[];
}

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

export interface EofPacket {
  warnings: number;
  statusFlags: number;
}

/** An OK or EOF packet: a 0xFE header and less than 16 MB (a row's 8-byte length would be longer). */
export function isEofOrOk(payload: Buffer): boolean {
  return payload[0] === RESPONSE.EOF && payload.length < 0xffffff;
}

function decodeSessionState(block: Buffer): SessionStateChange[] {
  const r = new PayloadReader(block);
  const changes: SessionStateChange[] = [];
  while (r.remaining > 0) {
    const type = r.int1();
    const data = r.lenencBytes();
    const d = new PayloadReader(data);
    if (type === SESSION_TRACK.SYSTEM_VARIABLES)
      changes.push({ type, name: d.lenencString(), value: d.lenencString(), data });
    else if (type === SESSION_TRACK.SCHEMA) changes.push({ type, name: d.lenencString(), data });
    else changes.push({ type, data });
  }
  return changes;
}

export function decodeOk(payload: Buffer, capabilities: number): OkPacket {
  const r = new PayloadReader(payload);
  const header = r.int1();
  if (header !== 0x00 && header !== 0xfe) throw malformed(`OK packet header 0x${header.toString(16)}`);
  const affectedRows = r.lenenc();
  const lastInsertId = r.lenenc();
  const statusFlags = r.int2();
  const warnings = r.int2();
  let info = '';
  let sessionState: SessionStateChange[] = [];
  if (has(capabilities, CAPABILITY.SESSION_TRACK)) {
    if (r.remaining > 0) info = r.lenencString();
    if (has(statusFlags, SERVER_STATUS.SESSION_STATE_CHANGED) && r.remaining > 0)
      sessionState = decodeSessionState(r.lenencBytes());
  } else {
    info = r.restString();
  }
  return { header, affectedRows, lastInsertId, statusFlags, warnings, info, sessionState };
}

/** Encodes an OK for a peer with `capabilities`; session state is dropped for peers without SESSION_TRACK. */
export function encodeOk(ok: OkPacket, capabilities: number): Buffer {
  const track = has(capabilities, CAPABILITY.SESSION_TRACK);
  const state = track ? ok.sessionState : [];
  const status = state.length > 0 ? ok.statusFlags : ok.statusFlags & ~SERVER_STATUS.SESSION_STATE_CHANGED;
  const w = new PayloadWriter(32)
    .int1(ok.header)
    .lenenc(ok.affectedRows)
    .lenenc(ok.lastInsertId)
    .int2(status)
    .int2(ok.warnings);
  if (!track) return w.string(ok.info).finish();
  if (ok.info.length > 0 || state.length > 0) w.lenencString(ok.info);
  if (state.length > 0) {
    const block = new PayloadWriter();
    for (const change of state) block.int1(change.type).lenencBytes(change.data);
    w.lenencBytes(block.finish());
  }
  return w.finish();
}

/** The session-state entry of a system variable, as the server would send it. */
export function systemVariableChange(name: string, value: string): SessionStateChange {
  const data = new PayloadWriter().lenencString(name).lenencString(value).finish();
  return { type: SESSION_TRACK.SYSTEM_VARIABLES, name, value, data };
}

export function decodeErr(payload: Buffer): ErrPacket {
  const r = new PayloadReader(payload);
  if (r.int1() !== RESPONSE.ERR) throw malformed('ERR packet without its 0xFF header');
  const code = r.int2();
  let sqlState = 'HY000';
  if (r.peek() === 0x23) {
    r.skip(1);
    sqlState = r.bytes(5).toString('latin1');
  }
  return { code, sqlState, message: r.restString() };
}

export function encodeErr(err: ErrPacket): Buffer {
  return new PayloadWriter(err.message.length + 16)
    .int1(RESPONSE.ERR)
    .int2(err.code)
    .string('#')
    .string(err.sqlState.padEnd(5, '0').slice(0, 5))
    .string(err.message)
    .finish();
}

export function decodeEof(payload: Buffer): EofPacket {
  const r = new PayloadReader(payload);
  if (r.int1() !== RESPONSE.EOF) throw malformed('EOF packet without its 0xFE header');
  if (r.remaining === 0) return { warnings: 0, statusFlags: 0 };
  return { warnings: r.int2(), statusFlags: r.int2() };
}

export function encodeEof(eof: EofPacket): Buffer {
  return new PayloadWriter(5).int1(RESPONSE.EOF).int2(eof.warnings).int2(eof.statusFlags).finish();
}

/**
 * The end of a result set as one value, in the framing negotiated with that peer: an OK with
 * the 0xFE header under CLIENT_DEPRECATE_EOF, else a classic EOF (the two cannot be told apart by length).
 */
export function decodeResultEnd(payload: Buffer, capabilities: number): EofPacket & { ok?: OkPacket } {
  if (!has(capabilities, CAPABILITY.DEPRECATE_EOF)) return decodeEof(payload);
  const ok = decodeOk(payload, capabilities);
  return { warnings: ok.warnings, statusFlags: ok.statusFlags, ok };
}

/** Encodes a result-set end for a peer: an EOF without DEPRECATE_EOF, else an OK with the 0xFE header. */
export function encodeResultEnd(end: EofPacket & { ok?: OkPacket }, capabilities: number): Buffer {
  if (!has(capabilities, CAPABILITY.DEPRECATE_EOF)) return encodeEof(end);
  const ok: OkPacket = end.ok ?? {
    header: 0xfe,
    affectedRows: 0,
    lastInsertId: 0,
    statusFlags: end.statusFlags,
    warnings: end.warnings,
    info: '',
    sessionState: [],
  };
  return encodeOk({ ...ok, header: 0xfe }, capabilities);
}
