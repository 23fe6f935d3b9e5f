import type { Field } from 'pg-protocol/dist/messages.js';
import type { SessionEffects } from '../sql/session-effects.ts';

/**
 * The seams between the PostgreSQL relay (protocol) and the rest of the gateway (policy, audit,
 * approvals, masking). The relay knows framing and ordering; these interfaces decide.
 */

/** What the client asked for, at the moment it would be forwarded. */
export type GateRequest =
  | { kind: 'query'; sql: string }
  | { kind: 'parse'; statementName: string; sql: string }
  | {
      kind: 'bind';
      statementName: string;
      portal: string;
      values: readonly (string | Buffer | null)[];
      handle: StatementHandle | undefined;
    }
  | { kind: 'function-call'; functionOid: number };

/**
 * Opaque per-statement data the gate attaches to a forwarded query or Parse (its analyses);
 * the relay hands it back with the results that statement produced.
 */
export type StatementHandle = { readonly statements: readonly unknown[] };

export type GateVerdict =
  | { forward: true; handle?: StatementHandle }
  | { forward: false; code: string; message: string; detail?: string; hint?: string; position?: string };

/** Lets a gate talk to the client while it holds a statement (approval NOTICEs). */
export interface GateControl {
  notice(message: string, detail?: string, hint?: string): void;
  /** Aborted when the client cancels (CancelRequest) or disconnects while the statement is held. */
  signal: AbortSignal;
}

/** An error as the audit log keeps it. */
export interface AuditedError {
  message: string;
  hidden?: string;
}

/** What a statement did, for the audit trail. */
export interface ExecutionResult {
  handle: StatementHandle | undefined;
  rows: number;
  bytes: number;
  durationMs: number;
  maskedValues: number;
  errorCode?: string;
  error?: AuditedError;
  /** Up to N masked rows, as the client saw them (text format). */
  sample: (string | null)[][];
  columns: string[];
}

/** Decides per statement; one instance per client connection. */
export interface StatementGate {
  check(request: GateRequest, control: GateControl): GateVerdict | Promise<GateVerdict>;
  executed(result: ExecutionResult): void;
  /** A prepared statement was closed by the client (protocol Close 'S'). */
  statementClosed(name: string): void;
  /**
   * The `statementIndex`-th statement the server runs for `handle` completed (CommandComplete).
   * Returns what it did to the session's portals and prepared statements, for the relay to forget.
   */
  statementCompleted?(handle: StatementHandle, statementIndex: number): SessionEffects | void;
  /** The target is ready for a new query (ReadyForQuery): everything sent before it has finished. `status` I, T or E. */
  readyForQuery?(status: 'I' | 'T' | 'E'): void;
  close(reason: string): void;
}

/** Rewrites one DataRow message; returns the same Buffer when nothing changed. */
export interface RowTransform {
  transform(dataRow: Buffer): Buffer;
  /** Number of values masked so far. */
  readonly maskedCount: number;
}

/** Masks what comes back. Absent when a connection has no masking at all. */
export interface ResultFilter {
  /** A RowDescription arrived for `handle` (undefined when the relay cannot tell: fail closed). */
  describe(
    handle: StatementHandle | undefined,
    statementIndex: number,
    fields: Field[],
  ): RowTransform | Promise<RowTransform>;
  /** A COPY TO STDOUT started; returns a transform over CopyData payloads, or a denial message. */
  copyOut(
    handle: StatementHandle | undefined,
    statementIndex: number,
    format: 'text' | 'binary',
  ): { transform(copyData: Buffer): Buffer; flush(): Buffer | null } | { deny: string };
  /**
   * ErrorResponse, NoticeResponse, NotificationResponse and ParameterStatus: masked as the statement
   * they belong to allows (`handle`, when the relay knows it; else as strictly as any in flight).
   */
  maskMessage(frame: Buffer, handle?: StatementHandle): Buffer;
  /**
   * An ErrorResponse for the audit log: the message the client was shown, and when that hid the
   * original, the original with its quoted values hidden (for operators).
   */
  auditedError?(frame: Buffer, handle?: StatementHandle): AuditedError;
}
