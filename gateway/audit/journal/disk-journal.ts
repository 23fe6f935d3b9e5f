import {
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GatehouseError } from '../../errors/gatehouse-error.ts';
import { lockDataDir } from '../../store/data-dir-lock.ts';
import { comparePositions, type Journal, type JournalPosition, type JournalRecovery } from './journal.ts';
import { CURSOR_FILE, readJournal, segmentName } from './journal-reader.ts';

const syncData = promisify(fdatasync);
/** The shipped cursor is saved at most this often: shipping twice is harmless, so it may lag. */
const CURSOR_SAVE_MS = 250;

/** Where segment files go and how much they may hold. */
export interface DiskJournalOptions {
  dir: string;
  /** `audit.journal.max_bytes`: appends beyond it are refused. */
  maxBytes: number;
  /** A segment is closed and a new one started once it holds this much (default maxBytes / 8, 16 KiB to 8 MiB). */
  segmentBytes?: number;
  /** The first line of every new segment: the heads of the open chains (see `journal-lines.ts`). */
  checkpoint: () => string;
}

interface Segment {
  number: number;
  file: string;
  bytes: number;
}

/**
 * The journal as segment files in its own directory, locked to one process. An append is one
 * `write(2)` of whole lines to the current segment (opened O_APPEND), so after `kill -9` every
 * acknowledged event is in the file (the page cache outlives the process); `sync` adds one
 * `fdatasync` for the batch, for power loss. Segments wholly shipped to the store are deleted.
 */
export function openDiskJournal(options: DiskJournalOptions): Journal {
  return new DiskJournal(options);
}

class DiskJournal implements Journal {
  readonly dir: string;
  readonly #options: DiskJournalOptions;
  readonly #segmentBytes: number;
  readonly #unlock: () => void;
  #segments: Segment[] = [];
  #current: { segment: Segment; fd: number } | null = null;
  #nextNumber = 1;
  #cursor: JournalPosition | null = null;
  #cursorSavedAt = 0;
  #total = 0;

  constructor(options: DiskJournalOptions) {
    this.dir = options.dir;
    this.#options = options;
    const { dir, maxBytes } = options;
    this.#segmentBytes = options.segmentBytes ?? Math.min(8 << 20, Math.max(16 << 10, Math.floor(maxBytes / 8)));
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw unwritable(dir, error);
    }
    this.#unlock = lockDataDir(
      dir,
      (holder) =>
        `the audit journal ${dir} is in use by process ${holder}; every gateway process needs its own journal directory (set audit.journal.dir per replica)`,
    );
  }

  recover(): JournalRecovery {
    const contents = readJournal(this.dir, { repair: true });
    this.#segments = contents.segments.map(({ number, file, bytes }) => ({ number, file, bytes }));
    this.#total = this.#segments.reduce((sum, s) => sum + s.bytes, 0);
    this.#nextNumber = (this.#segments.at(-1)?.number ?? 0) + 1;
    return contents;
  }

  async append(lines: string, sync: boolean): Promise<JournalPosition> {
    if (this.#total + Buffer.byteLength(lines) > this.#options.maxBytes) this.#dropShippedCurrent();
    const fresh = !this.#current || this.#current.segment.bytes >= this.#segmentBytes;
    const checkpoint = fresh || this.#current!.segment.bytes === 0;
    const buf = Buffer.from(checkpoint ? this.#options.checkpoint() + lines : lines);
    if (this.#total + buf.length > this.#options.maxBytes) throw full(this.dir, this.#options.maxBytes);
    let before = 0;
    try {
      if (fresh) this.#rotate();
      const { segment, fd } = this.#current!;
      before = segment.bytes;
      writeAll(fd, buf);
      segment.bytes += buf.length;
      this.#total += buf.length;
      if (sync) {
        await syncData(fd);
        if (fresh) syncDir(this.dir);
      }
      return { segment: segment.number, offset: segment.bytes };
    } catch (error) {
      this.#undo(before);
      throw unwritable(this.dir, error);
    }
  }

  shipped(position: JournalPosition): void {
    if (this.#cursor && comparePositions(position, this.#cursor) <= 0) return;
    this.#cursor = position;
    const done = this.#segments.filter((s) => s.number < position.segment && s !== this.#current?.segment);
    for (const segment of done) {
      rmSync(segment.file, { force: true });
      this.#total -= segment.bytes;
    }
    if (done.length > 0) this.#segments = this.#segments.filter((s) => !done.includes(s));
    this.#saveCursor(done.length > 0);
  }

  bytes(): number {
    return this.#total;
  }

  async close(): Promise<void> {
    try {
      this.#saveCursor(true);
    } finally {
      if (this.#current) closeSync(this.#current.fd);
      this.#current = null;
      this.#unlock();
    }
  }

  /** A full journal whose current segment is wholly in the store starts a new one, so the space frees up. */
  #dropShippedCurrent(): void {
    const current = this.#current;
    const cursor = this.#cursor;
    if (!current || !cursor || current.segment.bytes === 0) return;
    if (cursor.segment !== current.segment.number || cursor.offset < current.segment.bytes) return;
    closeSync(current.fd);
    rmSync(current.segment.file, { force: true });
    this.#total -= current.segment.bytes;
    this.#segments = this.#segments.filter((s) => s !== current.segment);
    this.#current = null;
  }

  #rotate(): void {
    if (this.#current) closeSync(this.#current.fd);
    this.#current = null;
    const segment = { number: this.#nextNumber, file: path.join(this.dir, segmentName(this.#nextNumber)), bytes: 0 };
    const fd = openSync(segment.file, 'a', 0o600);
    this.#nextNumber++;
    this.#segments.push(segment);
    this.#current = { segment, fd };
  }

  /** Takes a failed append back out of the file, or gives up on the segment if that fails too. */
  #undo(before: number): void {
    if (!this.#current) return;
    const { segment, fd } = this.#current;
    try {
      ftruncateSync(fd, before);
      this.#total -= segment.bytes - before;
      segment.bytes = before;
    } catch {
      segment.bytes = this.#segmentBytes;
    }
  }

  #saveCursor(force: boolean): void {
    if (!this.#cursor || (!force && Date.now() - this.#cursorSavedAt < CURSOR_SAVE_MS)) return;
    const tmp = path.join(this.dir, `${CURSOR_FILE}.tmp`);
    writeFileSync(tmp, `${this.#cursor.segment} ${this.#cursor.offset}\n`, { mode: 0o600 });
    renameSync(tmp, path.join(this.dir, CURSOR_FILE));
    this.#cursorSavedAt = Date.now();
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function full(dir: string, maxBytes: number): GatehouseError {
  return new GatehouseError(
    'audit.journal-full',
    `the audit journal (${dir}) is full: ${maxBytes} bytes of events are not yet in the store; commands are refused until the store is reachable again and the journal ships (raise audit.journal.max_bytes to ride out longer outages)`,
  );
}

function unwritable(dir: string, error: unknown): GatehouseError {
  const detail = error instanceof Error ? error.message : String(error);
  return new GatehouseError(
    'audit.journal-unwritable',
    `the audit journal (${dir}) cannot be written (${detail}); commands are refused until it can: check the disk and the directory's permissions`,
    { cause: error },
  );
}
