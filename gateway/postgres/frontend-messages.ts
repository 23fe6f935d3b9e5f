import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * Decoders for the client (frontend) messages the gateway must understand. Written by hand:
 * pg-protocol parses only backend messages. Each takes a message body and never touches sockets.
 */
class BodyReader {
  private offset = 0;
  constructor(private readonly body: Buffer) {}

  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    if (end < 0) throw malformed('a string is not NUL-terminated');
    const text = this.body.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return text;
  }

  int16(): number {
    this.need(2);
    const value = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.body.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  get remaining(): number {
    return this.body.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.body.length) throw malformed('the message is shorter than its fields');
  }
}

function malformed(what: string): GatehouseError {
  return new GatehouseError('pg.malformed', `malformed message: ${what}`);
}

/** StartupMessage parameters (body after the protocol version). */
export function decodeStartupParameters(body: Buffer): Map<string, string> {
  const reader = new BodyReader(body.subarray(4));
  const params = new Map<string, string>();
  while (reader.remaining > 1) {
    const name = reader.cstring();
    params.set(name, reader.cstring());
  }
  return params;
}

export function decodeQuery(body: Buffer): string {
  return new BodyReader(body).cstring();
}

export interface ParseMessage {
  name: string;
  sql: string;
  parameterTypes: number[];
}
export function decodeParse(body: Buffer): ParseMessage {
  const reader = new BodyReader(body);
  const name = reader.cstring();
  const sql = reader.cstring();
  const count = reader.int16();
  const parameterTypes = Array.from({ length: count }, () => reader.int32());
  return { name, sql, parameterTypes };
}

export interface BindMessage {
  portal: string;
  statement: string;
  /** Parameter values; null for SQL NULL. Text-format values are decoded, binary kept as bytes. */
  values: (string | Buffer | null)[];
  resultFormats: number[];
}
export function decodeBind(body: Buffer): BindMessage {
  const reader = new BodyReader(body);
  const portal = reader.cstring();
  const statement = reader.cstring();
  const formatCount = reader.int16();
  const formats = Array.from({ length: formatCount }, () => reader.int16());
  const valueCount = reader.int16();
  const values: (string | Buffer | null)[] = [];
  for (let i = 0; i < valueCount; i++) {
    const length = reader.int32();
    if (length < 0) {
      values.push(null);
      continue;
    }
    const raw = reader.bytes(length);
    const format = formats.length === 1 ? formats[0] : (formats[i] ?? 0);
    values.push(format === 1 ? raw : raw.toString('utf8'));
  }
  const resultCount = reader.int16();
  const resultFormats = Array.from({ length: resultCount }, () => reader.int16());
  return { portal, statement, values, resultFormats };
}

/** Describe and Close share a shape: 'S' (statement) or 'P' (portal), and a name. */
export interface TargetRef {
  kind: 'S' | 'P';
  name: string;
}
export function decodeTargetRef(body: Buffer): TargetRef {
  const reader = new BodyReader(body);
  const kind = String.fromCharCode(reader.bytes(1)[0]!);
  if (kind !== 'S' && kind !== 'P') throw malformed(`Describe/Close kind '${kind}' is neither S nor P`);
  return { kind, name: reader.cstring() };
}

export function decodeExecute(body: Buffer): { portal: string; maxRows: number } {
  const reader = new BodyReader(body);
  return { portal: reader.cstring(), maxRows: reader.int32() };
}

export function decodeFunctionCall(body: Buffer): { functionOid: number } {
  return { functionOid: new BodyReader(body).int32() };
}

export function decodePassword(body: Buffer): string {
  return new BodyReader(body).cstring();
}

export function decodeCancelRequest(body: Buffer): { pid: number; secret: number } {
  const reader = new BodyReader(body);
  reader.int32();
  return { pid: reader.int32(), secret: reader.int32() };
}

/** Builds a frontend message (used to substitute a denied statement with one the target rejects). */
export function frontendMessage(type: number, body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = type;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
