import type { Writable } from 'node:stream';

/**
 * Collects outgoing messages and writes them in one go. Messages that lie next to each other in
 * the chunk they arrived in are merged back into one view, so an unchanged stream of DataRows is
 * written as the chunks it came in, without copying.
 */
export class OutputBatch {
  private parts: Buffer[] = [];

  add(bytes: Buffer): void {
    const last = this.parts[this.parts.length - 1];
    if (last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
      return;
    }
    this.parts.push(bytes);
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  /** Writes everything collected; returns false when the destination asks us to wait for 'drain'. */
  flush(destination: Writable): boolean {
    if (this.parts.length === 0) return true;
    const parts = this.parts;
    this.parts = [];
    if (parts.length === 1) return destination.write(parts[0]);
    return destination.write(Buffer.concat(parts));
  }
}
