import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { eventHash, GENESIS_HASH } from '../hash-chain.ts';
import { chainKey, comparePositions, type JournalHead, type JournalPosition, type JournalRecovery } from './journal.ts';
import { parseLine } from './journal-lines.ts';

/** File name of segment `n`: fixed width, so names sort in write order. */
export function segmentName(n: number): string {
  return `seg-${String(n).padStart(12, '0')}.jsonl`;
}

const SEGMENT = /^seg-(\d{12})\.jsonl$/;
export const CURSOR_FILE = 'shipped' as const;

/** The segments of a journal directory, oldest first. */
export function listSegments(dir: string): Array<{ number: number; file: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => SEGMENT.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ number: Number(match[1]), file: path.join(dir, match[0]) }))
    .sort((a, b) => a.number - b.number);
}

/** How far shipping got, as the journal last saved it; null when nothing was shipped yet. */
export function readCursor(dir: string): JournalPosition | null {
  try {
    const [segment, offset] = readFileSync(path.join(dir, CURSOR_FILE), 'utf8').trim().split(' ').map(Number);
    return Number.isSafeInteger(segment) && Number.isSafeInteger(offset)
      ? { segment: segment!, offset: offset! }
      : null;
  } catch {
    return null;
  }
}

/** A journal directory read back: what {@link JournalRecovery} says, plus the sizes of its segments. */
export interface JournalContents extends JournalRecovery {
  segments: Array<{ number: number; file: string; bytes: number }>;
}

/**
 * Reads every segment in order, re-hashing each event and checking that it follows its chain's
 * head. With `repair`, a torn last line (a write cut by a crash; never an acknowledged event) is
 * cut off so the next process appends after whole lines only.
 */
export function readJournal(dir: string, options: { repair: boolean }): JournalContents {
  const cursor = readCursor(dir);
  const state: ReadState = { heads: new Map(), sealed: new Set(), unshipped: [], problems: [], cursor };
  const segments: JournalContents['segments'] = [];
  for (const segment of listSegments(dir)) {
    const bytes = readSegment(segment, state, options.repair);
    segments.push({ ...segment, bytes });
  }
  return {
    unshipped: state.unshipped,
    open: [...state.heads.values()],
    sealed: state.sealed,
    problems: state.problems,
    segments,
  };
}

interface ReadState extends Omit<JournalRecovery, 'open'> {
  heads: Map<string, JournalHead>;
  cursor: JournalPosition | null;
}

function readSegment(segment: { number: number; file: string }, state: ReadState, repair: boolean): number {
  const buf = readFileSync(segment.file);
  const name = path.basename(segment.file);
  let offset = 0;
  while (offset < buf.length) {
    const newline = buf.indexOf(0x0a, offset);
    if (newline === -1) {
      state.problems.push(
        `${name}: ${buf.length - offset} bytes after the last whole line (a write cut by a crash) were dropped`,
      );
      if (repair) truncateSync(segment.file, offset);
      return offset;
    }
    const end = { segment: segment.number, offset: newline + 1 };
    readLine(buf.toString('utf8', offset, newline), `${name}:${offset}`, end, state);
    offset = newline + 1;
  }
  return buf.length;
}

function readLine(text: string, where: string, end: JournalPosition, state: ReadState): void {
  const line = parseLine(text);
  if (!line) {
    state.problems.push(`${where}: not a journal line; skipped`);
    return;
  }
  if (line.kind === 'checkpoint') {
    for (const head of line.heads) {
      const key = chainKey(head.chain, head.sessionId);
      if (!state.heads.has(key) && !state.sealed.has(key)) state.heads.set(key, head);
    }
    return;
  }
  const record = line.record;
  const key = chainKey(record.chain ?? '', record.sessionId);
  const head = state.heads.get(key);
  const expected = head
    ? { seq: head.seq + 1, prev: head.hash }
    : record.seq === 1
      ? { seq: 1, prev: GENESIS_HASH }
      : null;
  if (
    eventHash(record.prevHash, record) !== record.hash ||
    (expected && (expected.seq !== record.seq || expected.prev !== record.prevHash))
  ) {
    state.problems.push(
      `${where}: event ${record.seq} of session ${record.sessionId} does not follow its chain; skipped`,
    );
    return;
  }
  state.heads.set(key, {
    chain: record.chain ?? '',
    sessionId: record.sessionId,
    seq: record.seq,
    hash: record.hash,
    at: record.at.toISOString(),
    start: (head?.start ?? false) || record.type === 'session.start',
  });
  if (record.type === 'seal') {
    state.heads.delete(key);
    state.sealed.add(key);
  }
  if (!state.cursor || comparePositions(end, state.cursor) > 0) state.unshipped.push({ record, end });
}
