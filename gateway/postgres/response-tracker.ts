import type { PreparedEntry } from './relay-state.ts';
import type { AuditedError, StatementHandle } from './statement-gate.ts';

/** Replaces the target's error for a substituted statement with the gateway's own. */
export interface ErrorRewrite {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
}

/** Audit counters of one execution (a simple Query, or an Execute of a portal). */
export interface Execution {
  handle: StatementHandle | undefined;
  startedAt: number;
  rows: number;
  bytes: number;
  maskedValues: number;
  errorCode?: string;
  error?: AuditedError;
  sample: (string | null)[][];
  columns: string[];
  /** Set once the rows passed a read bound: the rest is discarded and the client gets this error. */
  cutOff?: ErrorRewrite;
  /** Someone approved the rest of this result past its read bound. */
  boundLifted?: boolean;
}

/**
 * What the relay expects back from the target for each message it forwarded, in order. The
 * relay uses it to know which statement a RowDescription or DataRow belongs to (for masking),
 * when an execution ends (for audit), and which error to rewrite after a substitution.
 */
export type Expectation =
  | { kind: 'query'; handle?: StatementHandle; rewrite?: ErrorRewrite; statementIndex: number; execution: Execution }
  | { kind: 'function-call'; rewrite?: ErrorRewrite }
  | { kind: 'parse'; rewrite?: ErrorRewrite; handle?: StatementHandle }
  | { kind: 'bind'; rewrite?: ErrorRewrite; handle?: StatementHandle }
  | { kind: 'close'; target: 'S' | 'P'; name: string; entry: PreparedEntry | undefined }
  /** `entry` is the statement or portal as it was when the Describe was sent (a later Bind may reuse the name). */
  | {
      kind: 'describe';
      target: 'S' | 'P';
      name: string;
      entry: PreparedEntry | undefined;
      handle?: StatementHandle;
      internal: boolean;
    }
  /** `entry` is the portal the Execute ran (its rows keep its transform even if a later Bind reuses the name). */
  | { kind: 'execute'; portal: string; entry: PreparedEntry | undefined; execution: Execution }
  | { kind: 'sync' }
  /** A CopyDone/CopyFail sent before the target said COPY FROM STDIN started; no reply of its own. */
  | { kind: 'copy-end' };

export class ResponseTracker {
  private readonly queue: Expectation[] = [];
  private head = 0;

  expect(expectation: Expectation): void {
    this.queue.push(expectation);
  }

  get current(): Expectation | undefined {
    this.dropCopyEnds();
    return this.queue[this.head];
  }

  shift(): Expectation | undefined {
    this.dropCopyEnds();
    const item = this.queue[this.head];
    if (item) this.head++;
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /**
   * COPY FROM STDIN of the current expectation started. The target ignores Sync during it (no
   * reply: dropped here) and swallows any other message without a reply, so only the COPY's end
   * may follow (consumed here). Returns whether that end was already sent, or what else was.
   */
  copyInStarted(): { ended: boolean; unexpected?: Expectation['kind'] } {
    for (let i = this.head + 1; i < this.queue.length;) {
      const next = this.queue[i]!;
      if (next.kind === 'sync') {
        this.queue.splice(i, 1);
        continue;
      }
      if (next.kind !== 'copy-end') return { ended: false, unexpected: next.kind };
      this.queue.splice(i, 1);
      return { ended: true };
    }
    return { ended: false };
  }

  /** A CopyDone/CopyFail at the head belonged to a COPY that never started (the target ignored it). */
  private dropCopyEnds(): void {
    while (this.queue[this.head]?.kind === 'copy-end') this.head++;
  }

  /** After an ErrorResponse in the extended protocol the target skips to the next Sync. */
  skipToSync(): Expectation[] {
    const skipped: Expectation[] = [];
    while (this.current && this.current.kind !== 'sync') skipped.push(this.shift()!);
    return skipped;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }
}
