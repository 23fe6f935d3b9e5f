import { init, parse } from '@guanmingchiu/sqlparser-ts';

type Ast = Record<string, unknown>;

/**
 * Loads the MySQL grammar (datafusion-sqlparser-rs compiled to WASM) so that parsing is
 * synchronous afterwards. Call once at startup; calling again is harmless.
 */
export async function loadMysqlGrammar(): Promise<void> {
  await init();
}

/** Parses one canonical statement; the grammar's refusal is returned, never thrown. */
export function parseStatement(sql: string): { ok: true; ast: Ast } | { ok: false; reason: string } {
  let statements: unknown[];
  try {
    statements = parse(sql, 'mysql') as unknown[];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/init|not initialized|wasm/i.test(message) && !/parser error/i.test(message))
      throw new Error(`the MySQL grammar is not loaded; await loadMysqlGrammar() at startup (${message})`, {
        cause: error,
      });
    return { ok: false, reason: `the MySQL grammar rejects it: ${message.replace(/^sql parser error: /, '')}` };
  }
  if (statements.length !== 1)
    return { ok: false, reason: `the grammar read ${statements.length} statements where the server sees one` };
  const ast = statements[0];
  if (typeof ast === 'string') return { ok: true, ast: { [ast]: {} } };
  return { ok: true, ast: ast as Ast };
}
