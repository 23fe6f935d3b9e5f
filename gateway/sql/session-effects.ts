/**
 * What a completed statement did to the names the server keeps for the session: portals (SQL
 * cursors and protocol portals share one namespace) and prepared statements (SQL PREPARE and
 * protocol Parse share another). The relay forgets what the server forgot, at the moment it did.
 */
export interface SessionEffects {
  /** Portals the statement closed or replaced; `all` for every one (CLOSE ALL, transaction end). */
  portals?: readonly string[] | 'all';
  /** Prepared statements it removed or replaced; `all` for every one (DEALLOCATE ALL, DISCARD ALL). */
  statements?: readonly string[] | 'all';
}

type Body = Record<string, unknown>;

/** CURSOR_OPT_HOLD of DeclareCursorStmt.options: a WITH HOLD cursor survives its transaction. */
export const CURSOR_OPT_HOLD = 0x20;

/** Transaction commands after which no portal of the transaction remains (ROLLBACK TO drops the ones opened since). */
const ENDS_PORTALS = new Set([
  'TRANS_STMT_COMMIT',
  'TRANS_STMT_ROLLBACK',
  'TRANS_STMT_ROLLBACK_TO',
  'TRANS_STMT_PREPARE',
]);

function nodeOf(stmt: unknown): [string, Body] | undefined {
  if (typeof stmt !== 'object' || stmt === null) return undefined;
  const [entry] = Object.entries(stmt as Body);
  return entry && typeof entry[1] === 'object' && entry[1] !== null ? [entry[0], entry[1] as Body] : undefined;
}

/** The session effects of one statement (its libpg-query `stmt` node), once the server completed it. */
export function sessionEffectsOf(stmt: unknown): SessionEffects | undefined {
  const node = nodeOf(stmt);
  if (!node) return undefined;
  const [type, body] = node;
  switch (type) {
    case 'DeclareCursorStmt':
      return { portals: [String(body.portalname ?? '')] };
    case 'ClosePortalStmt':
      return { portals: typeof body.portalname === 'string' ? [body.portalname] : 'all' };
    case 'TransactionStmt':
      return ENDS_PORTALS.has(String(body.kind)) ? { portals: 'all' } : undefined;
    case 'PrepareStmt':
      return { statements: [String(body.name ?? '')] };
    case 'DeallocateStmt':
      return { statements: body.isall === true || typeof body.name !== 'string' ? 'all' : [body.name] };
    case 'DiscardStmt':
      return body.target === 'DISCARD_ALL' ? { portals: 'all', statements: 'all' } : undefined;
  }
  return undefined;
}
