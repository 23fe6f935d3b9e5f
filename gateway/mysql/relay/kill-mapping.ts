import type { MysqlStatementAnalysis } from '../sql/mysql-analysis.ts';
import { lex } from '../sql/lexer.ts';
import type { LexerMode } from '../sql/lexer-mode.ts';

/**
 * The gateway's connection ids (what each client was greeted with) mapped to the server threads
 * they relay, with the session that owns each. A client's Ctrl-C opens a second connection and
 * sends `KILL QUERY <id of the first>`: the id is the gateway's, so it is translated here, and
 * only for a connection of the same session; a job can never reach another session's thread.
 */
export class KillRegistry {
  private readonly byGatewayId = new Map<number, { sessionId: string; threadId: number }>();

  add(gatewayId: number, sessionId: string, threadId: number): () => void {
    this.byGatewayId.set(gatewayId, { sessionId, threadId });
    return () => this.byGatewayId.delete(gatewayId);
  }

  /** The server thread a session may kill for gateway id `id`, if it may. */
  threadFor(id: number, sessionId: string): number | undefined {
    const entry = this.byGatewayId.get(id);
    return entry && entry.sessionId === sessionId ? entry.threadId : undefined;
  }
}

/** What a client's KILL QUERY becomes: the server's statement for the mapped thread, or an error to answer with. */
export type KillPlan = { sql: string } | { code: number; sqlState: string; message: string };

/**
 * Reads `KILL [HARD|SOFT] QUERY <connection id>`, what a client's Ctrl-C sends; undefined for
 * every other form (KILL CONNECTION, KILL QUERY ID, KILL USER), which policy decides as any
 * other administration statement.
 */
export function planKill(
  statement: MysqlStatementAnalysis,
  mode: LexerMode,
  threadFor: (id: number) => number | undefined,
): KillPlan | undefined {
  const lexed = lex(statement.text, mode);
  const words = lexed.ok ? lexed.tokens.filter((t) => t.type !== 'semicolon') : [];
  let i = 1;
  const up = (k: number) => (words[k]?.type === 'word' ? words[k]!.value.toUpperCase() : '');
  if (up(i) === 'HARD' || up(i) === 'SOFT') i++;
  if (up(0) !== 'KILL' || up(i) !== 'QUERY') return undefined;
  const id = words[i + 1];
  if (!id || id.type !== 'number' || !/^\d+$/.test(id.value) || i + 2 !== words.length) return undefined;
  const thread = threadFor(Number(id.value));
  if (thread === undefined)
    return { code: 1095, sqlState: 'HY000', message: `You are not owner of thread ${id.value}` };
  return { sql: `KILL QUERY ${thread}` };
}
