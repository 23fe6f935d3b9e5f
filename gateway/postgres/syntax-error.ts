import type { SqlParser } from '../sql/sql-parser.ts';
import { SQLSTATE } from './protocol-codes.ts';

/**
 * What the target would answer for SQL its parser rejects: SQLSTATE 42601, the parser's message
 * and the 1-based character position PostgreSQL reports. The gateway still never forwards the
 * statement; it answers in the server's words so clients and tools (psql's caret, ORMs that switch
 * on 42601) behave as they do against the server itself.
 */
export interface ServerSyntaxError {
  code: typeof SQLSTATE.syntaxError;
  message: string;
  position?: string;
}

/** The server's syntax error for `sql` under `parser` (the target's grammar), or undefined when it parses. */
export function syntaxErrorOf(parser: SqlParser, sql: string): ServerSyntaxError | undefined {
  try {
    parser.parse(sql);
    return undefined;
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: unknown; cursorPosition?: unknown } }).sqlDetails;
    if (typeof details?.message !== 'string') return undefined;
    const at = details.cursorPosition;
    return {
      code: SQLSTATE.syntaxError,
      message: details.message,
      ...(typeof at === 'number' && at >= 0 ? { position: String(at + 1) } : {}),
    };
  }
}
