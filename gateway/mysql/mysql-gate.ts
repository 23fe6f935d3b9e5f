import type { ColumnDefinition } from './codec/column-definition.ts';
import type { RowValue } from './codec/result-rows.ts';
import type { LexerMode } from './sql/lexer-mode.ts';
import type { MysqlStatementAnalysis } from './sql/mysql-analysis.ts';

/**
 * The seams between the MySQL relay (protocol) and the rest of the gateway (policy, approvals,
 * audit, masking). The relay frames, analyses and orders; these interfaces decide.
 */

/** What the client asked for, analysed, at the moment it would be forwarded. */
export type MysqlRequest =
  | { kind: 'query'; sql: string; statements: readonly MysqlStatementAnalysis[] }
  | { kind: 'prepare'; sql: string; statements: readonly MysqlStatementAnalysis[] }
  | {
      kind: 'execute';
      statementId: number;
      sql: string;
      statements: readonly MysqlStatementAnalysis[];
      /** Parameter values as text for the audit log (binary values rendered, long data elided). */
      params: (string | null)[];
    };

export type MysqlVerdict = { forward: true } | { forward: false; code: number; sqlState: string; message: string };

/** Lets a gate talk to the client while it holds a command (approval), and notice it going away. */
export interface MysqlGateControl {
  signal: AbortSignal;
  /** The session's lexer mode when the command arrived (masking reads the statement's tokens in it). */
  mode: LexerMode;
}

/** What a command did, for the audit trail. */
export interface MysqlExecution {
  request: MysqlRequest;
  rows: number;
  affectedRows: number;
  bytes: number;
  durationMs: number;
  maskedValues: number;
  errorCode?: number;
}

/** Decides per command; one instance per client connection. */
export interface MysqlGate {
  check(request: MysqlRequest, control: MysqlGateControl): MysqlVerdict | Promise<MysqlVerdict>;
  executed(result: MysqlExecution): void;
  close(reason: string): void;
}

/** Rewrites the rows of one result set; returns the same payload when nothing changed. */
export interface MysqlRowTransform {
  transform(values: RowValue[]): RowValue[] | undefined;
  readonly maskedCount: number;
}

/** Masks what comes back. Absent when a connection has no masking. */
export interface MysqlResultFilter {
  /** A result set's columns arrived for the `index`-th statement of `request`; binary: COM_STMT_EXECUTE rows. */
  describe(
    request: MysqlRequest | undefined,
    index: number,
    columns: readonly ColumnDefinition[],
    binary: boolean,
  ): MysqlRowTransform | Promise<MysqlRowTransform>;
  /** An ERR reply to `request`: returns the payload the client gets (messages can quote masked values). */
  error?(request: MysqlRequest | undefined, payload: Buffer): Buffer;
}
