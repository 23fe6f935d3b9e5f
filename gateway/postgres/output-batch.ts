import type { Writable } from 'node:stream';

/**
 * Collects outgoing messages and writes them in one go. Messages that lie next to each other in
 * the chunk they arrived in are merged back into one view, so an unchanged stream of DataRows is
 * written as the chunks it came in, without copying. The current run is kept as offsets and made
 * a Buffer only when it ends, so merging costs no allocation per message.
 */
export class OutputBatch {
  private parts: Buffer[] = [];
  private run: Buffer | undefined;
  private runEnd = 0;

  add(bytes: Buffer): void {
    const run = this.run;
    if (run && run.buffer === bytes.buffer && run.byteOffset + this.runEnd === bytes.byteOffset) {
      this.runEnd += bytes.length;
      return;
    }
    this.closeRun();
    this.run = bytes;
    this.runEnd = bytes.length;
  }

  get empty(): boolean {
    return this.parts.length === 0 && this.run === undefined;
  }

  /** Writes everything collected; returns false when the destination asks us to wait for 'drain'. */
  flush(destination: Writable): boolean {
    this.closeRun();
    if (this.parts.length === 0) return true;
    const parts = this.parts;
    this.parts = [];
    if (parts.length === 1) return destination.write(parts[0]);
    return destination.write(Buffer.concat(parts));
  }

  private closeRun(): void {
    const run = this.run;
    if (!run) return;
    this.parts.push(this.runEnd === run.length ? run : Buffer.from(run.buffer, run.byteOffset, this.runEnd));
    this.run = undefined;
  }
}
