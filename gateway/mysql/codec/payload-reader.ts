import { GatehouseError } from '../../errors/gatehouse-error.ts';

/** A payload that does not have the shape its header promised; the connection carrying it is closed. */
export function malformed(what: string): GatehouseError {
  return new GatehouseError('mysql.malformed', `malformed MySQL packet: ${what}; the connection is closed`);
}

/**
 * A cursor over one packet payload with the protocol's integer and string encodings. Every read
 * checks the bounds and throws `mysql.malformed`, so decoders never read past a hostile payload.
 */
export class PayloadReader {
  offset: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private need(bytes: number, what: string): void {
    if (bytes < 0 || this.offset + bytes > this.buffer.length) throw malformed(`${what} runs past the end`);
  }

  peek(): number | undefined {
    return this.buffer[this.offset];
  }

  int1(): number {
    this.need(1, 'int<1>');
    return this.buffer[this.offset++]!;
  }

  int2(): number {
    this.need(2, 'int<2>');
    const value = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  int3(): number {
    this.need(3, 'int<3>');
    const value = this.buffer.readUIntLE(this.offset, 3);
    this.offset += 3;
    return value;
  }

  int4(): number {
    this.need(4, 'int<4>');
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  int8(): bigint {
    this.need(8, 'int<8>');
    const value = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    return value;
  }

  /** A length-encoded integer; null for the 0xFB NULL marker of text rows. */
  lenencOrNull(): number | null {
    const first = this.int1();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.int2();
    if (first === 0xfd) return this.int3();
    if (first === 0xfe) {
      const value = this.int8();
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('length-encoded integer too large');
      return Number(value);
    }
    throw malformed('0xff is not a length-encoded integer');
  }

  lenenc(): number {
    const value = this.lenencOrNull();
    if (value === null) throw malformed('unexpected NULL marker');
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length, `${length}-byte string`);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  skip(length: number): void {
    this.need(length, `${length} skipped bytes`);
    this.offset += length;
  }

  lenencBytes(): Buffer {
    return this.bytes(this.lenenc());
  }

  lenencString(): string {
    return this.lenencBytes().toString('utf8');
  }

  /** A NUL-terminated string; `optionalEnd` accepts a missing NUL at the end of the payload. */
  nulBytes(optionalEnd = false): Buffer {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) {
      if (!optionalEnd) throw malformed('string without its NUL terminator');
      return this.rest();
    }
    const value = this.buffer.subarray(this.offset, end);
    this.offset = end + 1;
    return value;
  }

  nulString(optionalEnd = false): string {
    return this.nulBytes(optionalEnd).toString('utf8');
  }

  rest(): Buffer {
    const value = this.buffer.subarray(this.offset);
    this.offset = this.buffer.length;
    return value;
  }

  restString(): string {
    return this.rest().toString('utf8');
  }

  /** Fails when bytes remain that the message has no field for. */
  end(what: string): void {
    if (this.remaining !== 0) throw malformed(`${this.remaining} unexpected trailing bytes after ${what}`);
  }
}
