/**
 * Builds one packet payload field by field (the one writer every encoder uses, so no encoder
 * computes offsets by hand). Grows geometrically; `finish()` returns a view of what was written.
 */
export class PayloadWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initial = 64) {
    this.buffer = Buffer.allocUnsafe(initial);
  }

  private reserve(bytes: number): number {
    const at = this.length;
    if (at + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, at + bytes));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.length += bytes;
    return at;
  }

  int1(value: number): this {
    this.buffer[this.reserve(1)] = value & 0xff;
    return this;
  }

  int2(value: number): this {
    this.buffer.writeUInt16LE(value & 0xffff, this.reserve(2));
    return this;
  }

  int3(value: number): this {
    this.buffer.writeUIntLE(value & 0xffffff, this.reserve(3), 3);
    return this;
  }

  int4(value: number): this {
    this.buffer.writeUInt32LE(value >>> 0, this.reserve(4));
    return this;
  }

  int8(value: bigint | number): this {
    this.buffer.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)), this.reserve(8));
    return this;
  }

  lenenc(value: number): this {
    if (value < 0xfb) return this.int1(value);
    if (value < 0x10000) return this.int1(0xfc).int2(value);
    if (value < 0x1000000) return this.int1(0xfd).int3(value);
    return this.int1(0xfe).int8(value);
  }

  bytes(value: Buffer | Uint8Array): this {
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
    return this;
  }

  string(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  zeros(count: number): this {
    this.buffer.fill(0, this.reserve(count), this.length);
    return this;
  }

  nulString(value: string | Buffer): this {
    return (typeof value === 'string' ? this.string(value) : this.bytes(value)).int1(0);
  }

  lenencBytes(value: Buffer): this {
    return this.lenenc(value.length).bytes(value);
  }

  lenencString(value: string): this {
    return this.lenencBytes(Buffer.from(value, 'utf8'));
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
