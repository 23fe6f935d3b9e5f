import { GatehouseError } from '../../errors/gatehouse-error.ts';
import { malformed } from './payload-reader.ts';

/** The largest payload one physical packet carries; a payload this long continues in the next one. */
export const MAX_FRAGMENT = 0xffffff;

/** One logical packet: a payload of any length (fragments joined) and the sequence ids it used. */
export interface Packet {
  /** Sequence id of the first fragment. */
  sequenceId: number;
  /** Sequence id of the last fragment: the next packet in the exchange uses this + 1. */
  lastSequenceId: number;
  payload: Buffer;
}

/**
 * Cuts a byte stream into logical packets. Packets of 16 MB and more arrive as several
 * fragments; they are collected and joined once (linear in their size, never re-copied per
 * chunk), and a fragment whose sequence id does not follow the previous one is an error.
 * Packets inside one chunk are zero-copy views of it.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the next fragment needs in total (header included), once its header is known. */
  private needed = 4;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private firstSequence = -1;
  private lastSequence = -1;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feeds bytes; returns the logical packets they complete, in order. */
  push(chunk: Buffer): Packet[] {
    if (chunk.length === 0 && this.buffered === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return [];
    let buffer = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    const packets: Packet[] = [];
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUIntLE(offset, 3);
      const sequenceId = buffer[offset + 3]!;
      if (buffer.length - offset < 4 + length) {
        this.needed = 4 + length;
        break;
      }
      const fragment = buffer.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      this.needed = 4;
      const packet = this.addFragment(sequenceId, fragment, length === MAX_FRAGMENT);
      if (packet) packets.push(packet);
    }
    if (offset < buffer.length) {
      // Copy so the (possibly large) chunk the tail came from can be released.
      buffer = Buffer.from(buffer.subarray(offset));
      this.chunks.push(buffer);
      this.buffered = buffer.length;
    }
    return packets;
  }

  /** Bytes held back: a partial packet, or fragments of an unfinished one. */
  get pending(): number {
    return this.buffered + this.fragmentBytes;
  }

  /** Hands back every unconsumed byte (to pass them to another reader, e.g. after the handshake). */
  takeRemainder(): Buffer {
    if (this.fragments.length > 0) throw malformed('a split packet was cut off');
    const rest = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.needed = 4;
    return rest;
  }

  private addFragment(sequenceId: number, fragment: Buffer, continues: boolean): Packet | undefined {
    if (this.firstSequence >= 0 && sequenceId !== ((this.lastSequence + 1) & 0xff))
      throw malformed(`fragment sequence id ${sequenceId} does not follow ${this.lastSequence}`);
    if (this.fragmentBytes + fragment.length > this.maxPacketBytes) {
      throw new GatehouseError(
        'mysql.packet-too-large',
        `a packet is larger than the gateway's limit of ${this.maxPacketBytes} bytes (limits.max_message_bytes); the connection is closed`,
      );
    }
    if (this.firstSequence < 0) this.firstSequence = sequenceId;
    this.lastSequence = sequenceId;
    if (!continues && this.fragments.length === 0) {
      this.firstSequence = -1;
      return { sequenceId, lastSequenceId: sequenceId, payload: fragment };
    }
    // Socket chunks are never reused, so fragments stay views until they are joined once.
    this.fragments.push(fragment);
    this.fragmentBytes += fragment.length;
    if (continues) return undefined;
    const packet = {
      sequenceId: this.firstSequence,
      lastSequenceId: sequenceId,
      payload: Buffer.concat(this.fragments, this.fragmentBytes),
    };
    this.fragments = [];
    this.fragmentBytes = 0;
    this.firstSequence = -1;
    return packet;
  }
}

/**
 * Frames a payload as one or more physical packets starting at `sequenceId`. A payload of a
 * multiple of 16 MB - 1 bytes ends with an empty fragment, as the protocol requires.
 */
export function encodePacket(sequenceId: number, payload: Buffer): { bytes: Buffer; nextSequenceId: number } {
  if (payload.length < MAX_FRAGMENT) {
    const bytes = Buffer.allocUnsafe(4 + payload.length);
    bytes.writeUIntLE(payload.length, 0, 3);
    bytes[3] = sequenceId & 0xff;
    payload.copy(bytes, 4);
    return { bytes, nextSequenceId: (sequenceId + 1) & 0xff };
  }
  const count = Math.floor(payload.length / MAX_FRAGMENT) + 1;
  const bytes = Buffer.allocUnsafe(payload.length + 4 * count);
  let at = 0;
  let seq = sequenceId;
  for (let i = 0; i < count; i++) {
    const part = payload.subarray(i * MAX_FRAGMENT, Math.min(payload.length, (i + 1) * MAX_FRAGMENT));
    bytes.writeUIntLE(part.length, at, 3);
    bytes[at + 3] = seq & 0xff;
    part.copy(bytes, at + 4);
    at += 4 + part.length;
    seq = (seq + 1) & 0xff;
  }
  return { bytes, nextSequenceId: seq };
}

/**
 * The physical packets of a payload as separate buffers (headers apart, payload slices as views),
 * so forwarding a large payload does not copy it again.
 */
export function packetParts(sequenceId: number, payload: Buffer): { parts: Buffer[]; nextSequenceId: number } {
  if (payload.length < 1 << 16) {
    const { bytes, nextSequenceId } = encodePacket(sequenceId, payload);
    return { parts: [bytes], nextSequenceId };
  }
  const parts: Buffer[] = [];
  let seq = sequenceId;
  const count = Math.floor(payload.length / MAX_FRAGMENT) + 1;
  for (let i = 0; i < count; i++) {
    const part = payload.subarray(i * MAX_FRAGMENT, Math.min(payload.length, (i + 1) * MAX_FRAGMENT));
    const header = Buffer.allocUnsafe(4);
    header.writeUIntLE(part.length, 0, 3);
    header[3] = seq & 0xff;
    parts.push(header, part);
    seq = (seq + 1) & 0xff;
  }
  return { parts, nextSequenceId: seq };
}
