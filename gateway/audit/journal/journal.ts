import type { AuditEventRecord } from '../../store/store.ts';

/** A place in the journal: byte `offset` of segment number `segment`; positions only grow. */
export interface JournalPosition {
  segment: number;
  offset: number;
}

/**
 * Where one chain stands, as the journal knows it. A checkpoint at the top of every segment lists
 * the open chains, so a chain's head survives the deletion of the segments it was written in.
 */
export interface JournalHead {
  chain: string;
  sessionId: string;
  seq: number;
  hash: string;
  /** ISO time of the chain's last event: later events never go back in time. */
  at: string;
  /** Whether the chain holds the session's `session.start` (its writer created the session). */
  start: boolean;
}

/**
 * An event in the journal with the position just after it, which shipping may mark as done
 * once the event is in the store. Only the last event of an append knows its position (null
 * for the others), so the shipped mark never passes an event that is not in the store.
 */
export interface JournalEvent {
  record: AuditEventRecord;
  end: JournalPosition | null;
}

/** What a previous process left in a journal directory, read once before the first append. */
export interface JournalRecovery {
  /** Events after the shipped cursor, in the order they were written. */
  unshipped: JournalEvent[];
  /** Chains with no seal yet (their writer died or stopped while they were open). */
  open: JournalHead[];
  /** Chain keys (`chain session`) that the journal saw sealed. */
  sealed: Set<string>;
  /** Lines that could not be read (torn tail, corruption), said in words for the gateway log. */
  problems: string[];
}

/**
 * The recorder's local, append-only log: the place an audit event "exists" before its statement
 * is forwarded. Two implementations: segment files in a directory (the default) and memory (for
 * `store: memory://`, whose state dies with the process anyway).
 */
export interface Journal {
  /** The directory, for messages; null for the memory journal. */
  readonly dir: string | null;
  /** Reads what an earlier process left; call once, before {@link append}. */
  recover(): JournalRecovery;
  /**
   * Appends complete lines with one write (and one fsync when `sync`), resolving to the position
   * after them. Rejects with `audit.journal-full` or `audit.journal-unwritable`; nothing of a
   * rejected append remains.
   */
  append(lines: string, sync: boolean): Promise<JournalPosition>;
  /** Everything before `position` is in the store: wholly shipped segments may be deleted. */
  shipped(position: JournalPosition): void;
  /** Bytes the journal holds now (what `audit.journal.max_bytes` bounds). */
  bytes(): number;
  close(): Promise<void>;
}

/** Key of one chain of one session in maps and sets. */
export function chainKey(chain: string, sessionId: string): string {
  return `${chain} ${sessionId}`;
}

export function comparePositions(a: JournalPosition, b: JournalPosition): number {
  return a.segment - b.segment || a.offset - b.offset;
}
