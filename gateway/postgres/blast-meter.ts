import type { Bound, EffectiveLimits } from '../policy/blast-limits.ts';
import { SQLSTATE } from './protocol-codes.ts';
import type { ErrorRewrite, Execution } from './response-tracker.ts';

/** What one gateway session has read and changed so far, over all its client connections. */
export interface SessionTally {
  rowsRead: number;
  bytesRead: number;
  rowsWritten: number;
}

/**
 * The tallies of live sessions, shared by every client connection of the adapter (a job that
 * reconnects keeps its count). An entry is dropped once its session expired.
 */
export class SessionTallies {
  private readonly tallies = new Map<string, { tally: SessionTally; expiresAt: number }>();

  of(sessionId: string, expiresAt: Date, now: number = Date.now()): SessionTally {
    const found = this.tallies.get(sessionId);
    if (found) return found.tally;
    for (const [id, entry] of this.tallies) if (entry.expiresAt < now) this.tallies.delete(id);
    const tally = { rowsRead: 0, bytesRead: 0, rowsWritten: 0 };
    this.tallies.set(sessionId, { tally, expiresAt: expiresAt.getTime() });
    return tally;
  }
}

/** Command tags whose count is rows changed (COPY counts only when the target sent no rows: COPY FROM). */
const WRITE_TAGS: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

/** Asks a human whether a result may go on past `bound` (`what` says how far it got). */
export type ReadApproval = (execution: Execution, bound: Bound, what: string) => Promise<boolean>;

const NO_BOUND = Number.POSITIVE_INFINITY;

/**
 * Counts one client connection's rows against its bounds while they stream. The relay asks
 * {@link over} once per DataRow/CopyData (compares only); the first time it is true the relay
 * cuts the statement off with {@link cutOff}. Command tags count writes per session; a write that
 * takes the session over its bound inside a transaction block marks the transaction, which then
 * cannot commit ({@link overrun}).
 */
export class BlastMeter {
  private readonly statementRows: number;
  private readonly statementBytes: number;
  private readonly sessionRows: number;
  private readonly sessionBytes: number;
  private writtenInTransaction = 0;
  /** A read was cut off since the last ReadyForQuery. */
  private cutSinceReady = false;
  /** Why the open transaction block may not commit; undefined when it may. */
  overrun: string | undefined;

  constructor(
    private readonly limits: EffectiveLimits,
    readonly tally: SessionTally,
    private readonly ask?: ReadApproval,
  ) {
    this.statementRows = limits.statement.rowsRead?.value ?? NO_BOUND;
    this.statementBytes = limits.statement.bytesRead?.value ?? NO_BOUND;
    this.sessionRows = limits.session.rowsRead?.value ?? NO_BOUND;
    this.sessionBytes = limits.session.bytesRead?.value ?? NO_BOUND;
  }

  /** Whether the rows counted so far are past a read bound. */
  over(execution: Execution): boolean {
    if (execution.boundLifted === true) return false;
    return (
      execution.rows > this.statementRows ||
      execution.bytes > this.statementBytes ||
      this.tally.rowsRead + execution.rows > this.sessionRows ||
      this.tally.bytesRead + execution.bytes > this.sessionBytes
    );
  }

  /** Which bound the rows counted so far passed, and how to say it. */
  private crossed(execution: Execution): { bound: Bound; what: string } {
    const { statement, session } = this.limits;
    if (execution.rows > this.statementRows)
      return { bound: statement.rowsRead!, what: `this statement read more than ${this.statementRows} rows` };
    if (execution.bytes > this.statementBytes)
      return {
        bound: statement.bytesRead!,
        what: `this statement read more than ${this.statementBytes} bytes of rows`,
      };
    if (this.tally.rowsRead + execution.rows > this.sessionRows)
      return { bound: session.rowsRead!, what: `this session read more than ${this.sessionRows} rows in all` };
    return { bound: session.bytesRead!, what: `this session read more than ${this.sessionBytes} bytes of rows in all` };
  }

  /**
   * A read passed a bound whose limit holds for review: resolves true once someone approved the
   * rest of the result (the relay holds the stream meanwhile). Undefined when the bound cuts off.
   */
  askMore(execution: Execution): Promise<boolean> | undefined {
    const { bound, what } = this.crossed(execution);
    if (bound.limit.overRead !== 'review' || !this.ask) return undefined;
    return this.ask(execution, bound, what);
  }

  /** The error the client gets in place of the rest of a result past a read bound. */
  cutOff(execution: Execution): ErrorRewrite {
    this.cutSinceReady = true;
    const { bound, what } = this.crossed(execution);
    return {
      code: SQLSTATE.programLimitExceeded,
      message: `gatehouse: ${what}, the bound of limit '${bound.limit.name}'; the rest of the result was discarded and the statement cancelled`,
      hint: 'read less at a time (a LIMIT, a narrower WHERE, keyset pagination), or ask the policy owner to raise the bound',
    };
  }

  /**
   * A statement ended, with this command tag (undefined: it failed): counts what it read (the rows
   * the target sent, DataRow or CopyData) and what it changed (the tag's count).
   */
  completed(execution: Execution, tagBody: Buffer | undefined): void {
    this.tally.rowsRead += Math.min(execution.rows, this.statementRows);
    this.tally.bytesRead += Math.min(execution.bytes, this.statementBytes);
    if (!tagBody) return;
    const tag = tagBody.toString('latin1', 0, tagBody.length - 1);
    const space = tag.indexOf(' ');
    const command = space < 0 ? tag : tag.slice(0, space);
    const count = Number(tag.slice(tag.lastIndexOf(' ') + 1));
    if (command === 'ROLLBACK') {
      this.tally.rowsWritten -= this.writtenInTransaction;
      this.writtenInTransaction = 0;
      this.overrun = undefined;
      return;
    }
    if (!WRITE_TAGS.has(command) || !Number.isSafeInteger(count) || (command === 'COPY' && execution.rows > 0)) return;
    this.tally.rowsWritten += count;
    this.writtenInTransaction += count;
  }

  /**
   * The target is ready for a query: a transaction block that ended took its marks with it; one
   * still open whose writes took the session over its bound is marked so it cannot commit, and so
   * is one whose read was cut off after the statement had finished on the target (the client saw
   * an error, so the block must end as a failed one would: rolled back).
   */
  ready(status: 'I' | 'T' | 'E'): void {
    const bound = this.limits.session.rowsWritten;
    const cut = this.cutSinceReady;
    this.cutSinceReady = false;
    if (status === 'T' && cut && !this.overrun) this.overrun = 'a read in this transaction was cut off; roll it back';
    if (status === 'I') {
      this.writtenInTransaction = 0;
      this.overrun = undefined;
    } else if (!this.overrun && bound && this.writtenInTransaction > 0 && this.tally.rowsWritten > bound.value) {
      this.overrun = `this session changed ${this.tally.rowsWritten} rows, over the bound of ${bound.value} rows per session of limit '${bound.limit.name}'; this transaction cannot commit: roll it back`;
    }
  }
}
