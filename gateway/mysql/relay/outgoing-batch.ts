import { packetParts } from '../codec/packet-framer.ts';

/** Payloads below this size are framed into the batch; larger ones are written as their own parts. */
const BATCHED_BELOW = 1 << 16;

/**
 * The packets one chunk from the server produces for the client, framed into a single buffer
 * and written once: one allocation and one write per chunk, instead of a framed copy and a
 * write per packet (a result set is mostly small packets: the column count, definitions, rows, EOF).
 */
export class OutgoingBatch {
  private payloads: Buffer[] = [];
  private sequenceIds: number[] = [];
  private size = 0;

  constructor(private readonly write: (bytes: Buffer) => boolean) {}

  /** Queues `payload` with `sequenceId`; returns the next sequence id, and whether a write filled the socket. */
  add(sequenceId: number, payload: Buffer): { nextSequenceId: number; bytes: number; full: boolean } {
    if (payload.length >= BATCHED_BELOW) {
      let full = !this.flush();
      const { parts, nextSequenceId } = packetParts(sequenceId, payload);
      let bytes = 0;
      for (const part of parts) {
        bytes += part.length;
        full = !this.write(part) || full;
      }
      return { nextSequenceId, bytes, full };
    }
    this.payloads.push(payload);
    this.sequenceIds.push(sequenceId);
    this.size += 4 + payload.length;
    return { nextSequenceId: (sequenceId + 1) & 0xff, bytes: 4 + payload.length, full: false };
  }

  /** Writes what is queued; false when the socket asked to wait (drain). */
  flush(): boolean {
    if (this.payloads.length === 0) return true;
    const out = Buffer.allocUnsafe(this.size);
    let at = 0;
    for (let i = 0; i < this.payloads.length; i++) {
      const payload = this.payloads[i]!;
      out[at] = payload.length & 0xff;
      out[at + 1] = (payload.length >> 8) & 0xff;
      out[at + 2] = (payload.length >> 16) & 0xff;
      out[at + 3] = this.sequenceIds[i]!;
      payload.copy(out, at + 4);
      at += 4 + payload.length;
    }
    this.payloads = [];
    this.sequenceIds = [];
    this.size = 0;
    return this.write(out);
  }
}
