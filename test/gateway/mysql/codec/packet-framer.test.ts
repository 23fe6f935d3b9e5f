import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../../gateway/errors/gatehouse-error.ts';
import { encodePacket, MAX_FRAGMENT, PacketFramer } from '../../../../gateway/mysql/codec/packet-framer.ts';

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  parts.push(bytes.subarray(last));
  return parts;
}

describe('PacketFramer', () => {
  it('cuts packets out of a stream however the chunks fall, keeping sequence ids', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (payloads, cuts) => {
          const wire = Buffer.concat(payloads.map((p, i) => encodePacket(i, Buffer.from(p)).bytes));
          const framer = new PacketFramer(1 << 20);
          const got = splitAt(wire, cuts).flatMap((chunk) => framer.push(chunk));
          expect(got.map((p) => [p.sequenceId, Buffer.from(p.payload).toString('hex')])).toEqual(
            payloads.map((p, i) => [i, Buffer.from(p).toString('hex')]),
          );
          expect(framer.pending).toBe(0);
        },
      ),
    );
  });

  it('reassembles a payload of 16 MB and more from its fragments, with the empty last fragment at exact multiples', () => {
    for (const size of [MAX_FRAGMENT, MAX_FRAGMENT * 2 + 5]) {
      const payload = Buffer.alloc(size, 0x61);
      payload[size - 1] = 0x7a;
      const { bytes, nextSequenceId } = encodePacket(7, payload);
      const fragments = Math.floor(size / MAX_FRAGMENT) + 1;
      expect(bytes.length).toBe(size + 4 * fragments);
      expect(nextSequenceId).toBe(7 + fragments);
      const framer = new PacketFramer(64 << 20);
      const packets = splitAt(bytes, [65536, 1 << 22, MAX_FRAGMENT + 3, MAX_FRAGMENT + 4]).flatMap((c) =>
        framer.push(c),
      );
      expect(packets).toHaveLength(1);
      expect(packets[0]!.sequenceId).toBe(7);
      expect(packets[0]!.lastSequenceId).toBe(7 + fragments - 1);
      expect(packets[0]!.payload.length).toBe(size);
      expect(packets[0]!.payload.equals(payload)).toBe(true);
    }
  });

  it('refuses a fragment whose sequence id does not follow the previous fragment', () => {
    const first = Buffer.alloc(4 + MAX_FRAGMENT);
    first.writeUIntLE(MAX_FRAGMENT, 0, 3);
    first[3] = 0;
    const second = Buffer.from([1, 0, 0, 5, 0x41]);
    const framer = new PacketFramer(64 << 20);
    expect(framer.push(first)).toEqual([]);
    expect(() => framer.push(second)).toThrow(/does not follow/);
  });

  it('refuses a packet over its size limit before buffering it whole', () => {
    const framer = new PacketFramer(1000);
    const { bytes } = encodePacket(0, Buffer.alloc(1001));
    expect(() => framer.push(bytes)).toThrow(expect.objectContaining({ code: 'mysql.packet-too-large' }));
  });

  it('hands back the bytes after the last complete packet', () => {
    const framer = new PacketFramer(1000);
    const wire = Buffer.concat([encodePacket(0, Buffer.from('abc')).bytes, Buffer.from([9, 0])]);
    expect(framer.push(wire)).toHaveLength(1);
    expect(framer.takeRemainder()).toEqual(Buffer.from([9, 0]));
  });

  it('fails only with its own errors on garbage', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
        const framer = new PacketFramer(4096);
        try {
          for (const chunk of chunks) framer.push(Buffer.from(chunk));
        } catch (error) {
          expect(error).toBeInstanceOf(GatehouseError);
        }
      }),
    );
  });
});
