import { toAuditChain, toAuditEvent, toAuditKey, type Row } from './row-mapping.ts';
import type { SqlExecutor, SqlRunner } from './sql-executor.ts';
import { sqlInteger, sqlLiteral } from './sql-literal.ts';
import type { AuditChainRecord, AuditEventRecord, AuditKeyRecord } from './store.ts';

const AUDIT_ROWS_PER_INSERT = 500;

function values(events: readonly AuditEventRecord[]): string {
  return events
    .map(
      (e) =>
        `(${sqlLiteral(e.sessionId)}, ${sqlLiteral(e.chain ?? '')}, ${sqlInteger(e.seq)}, ${sqlLiteral(e.type)}, ${sqlLiteral(e.at.toISOString())}, ${sqlLiteral(JSON.stringify(e.data))}, ${sqlLiteral(e.prevHash)}, ${sqlLiteral(e.hash)})`,
    )
    .join(', ');
}

const COLUMNS = '(session_id, chain, seq, type, at, data, prev_hash, hash)';

/**
 * One INSERT of the whole batch as literal VALUES sent without parameters (simple protocol): on
 * PGlite that costs about half of a parameterised INSERT. Values are escaped by `sql-literal.ts`.
 * A single statement is atomic, so a batch of up to 500 rows needs no explicit transaction.
 */
export async function appendAuditEvents(db: SqlExecutor, events: readonly AuditEventRecord[]): Promise<void> {
  if (events.length === 0) return;
  if (events.length <= AUDIT_ROWS_PER_INSERT) {
    await db.exec(`INSERT INTO audit_events ${COLUMNS} VALUES ${values(events)}`);
    return;
  }
  await db.transaction(async (tx) => {
    for (let start = 0; start < events.length; start += AUDIT_ROWS_PER_INSERT)
      await tx.exec(
        `INSERT INTO audit_events ${COLUMNS} VALUES ${values(events.slice(start, start + AUDIT_ROWS_PER_INSERT))}`,
      );
  });
}

/**
 * At-least-once shipping from a journal: rows already stored are skipped, and those whose stored
 * hash differs from the shipped one are returned so the caller can say the two disagree. Each
 * INSERT of up to 500 rows is one statement, atomic by itself; a batch needs no transaction,
 * because shipping it again is harmless.
 */
export async function shipAuditEvents(db: SqlRunner, events: readonly AuditEventRecord[]): Promise<AuditEventRecord[]> {
  const skipped: AuditEventRecord[] = [];
  for (let start = 0; start < events.length; start += AUDIT_ROWS_PER_INSERT) {
    const slice = events.slice(start, start + AUDIT_ROWS_PER_INSERT);
    const inserted = await db.query<{ k: string }>(
      `INSERT INTO audit_events ${COLUMNS} VALUES ${values(slice)} ON CONFLICT DO NOTHING RETURNING session_id || ' ' || chain || ' ' || seq AS k`,
    );
    if (inserted.length === slice.length) continue;
    const done = new Set(inserted.map((row) => row.k));
    skipped.push(...slice.filter((e) => !done.has(`${e.sessionId} ${e.chain ?? ''} ${e.seq}`)));
  }
  return skipped.length === 0 ? [] : differing(db, skipped);
}

async function differing(tx: SqlRunner, skipped: AuditEventRecord[]): Promise<AuditEventRecord[]> {
  const conflicts: AuditEventRecord[] = [];
  for (let start = 0; start < skipped.length; start += AUDIT_ROWS_PER_INSERT) {
    const slice = skipped.slice(start, start + AUDIT_ROWS_PER_INSERT);
    const keys = slice.map((e) => `(${sqlLiteral(e.sessionId)}, ${sqlLiteral(e.chain ?? '')}, ${sqlInteger(e.seq)})`);
    const rows = await tx.query<{ k: string; hash: string }>(
      `SELECT session_id || ' ' || chain || ' ' || seq AS k, hash FROM audit_events WHERE (session_id, chain, seq) IN (${keys.join(', ')})`,
    );
    const stored = new Map(rows.map((row) => [row.k, row.hash]));
    conflicts.push(...slice.filter((e) => stored.get(`${e.sessionId} ${e.chain ?? ''} ${e.seq}`) !== e.hash));
  }
  return conflicts;
}

export async function listAuditEvents(db: SqlRunner, sessionId: string): Promise<AuditEventRecord[]> {
  const rows = await db.query<Row>('SELECT * FROM audit_events WHERE session_id = $1 ORDER BY chain, seq', [sessionId]);
  return rows.map(toAuditEvent);
}

export async function lastAuditEvent(db: SqlRunner, sessionId: string, chain = ''): Promise<AuditEventRecord | null> {
  const rows = await db.query<Row>(
    'SELECT * FROM audit_events WHERE session_id = $1 AND chain = $2 ORDER BY seq DESC LIMIT 1',
    [sessionId, chain],
  );
  return rows[0] ? toAuditEvent(rows[0]) : null;
}

export async function listUnsealedAuditSessions(db: SqlRunner): Promise<string[]> {
  const rows = await db.query<{ session_id: string }>(
    `SELECT DISTINCT session_id FROM (
       SELECT DISTINCT ON (session_id, chain) session_id, type FROM audit_events ORDER BY session_id, chain, seq DESC
     ) last WHERE type <> 'seal' ORDER BY session_id`,
  );
  return rows.map((row) => row.session_id);
}

export async function registerAuditChain(db: SqlRunner, chain: AuditChainRecord): Promise<void> {
  await db.query(
    'INSERT INTO audit_chains (session_id, chain, gateway, opened_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [chain.sessionId, chain.chain, chain.gateway, chain.openedAt.toISOString()],
  );
}

export async function listAuditChains(db: SqlRunner, sessionId: string): Promise<AuditChainRecord[]> {
  const rows = await db.query<Row>('SELECT * FROM audit_chains WHERE session_id = $1 ORDER BY opened_at, chain', [
    sessionId,
  ]);
  return rows.map(toAuditChain);
}

/** First writer wins per key id, except that `retired` always sticks. */
export async function putAuditKey(db: SqlRunner, key: AuditKeyRecord): Promise<void> {
  await db.query(
    `INSERT INTO audit_keys (key_id, public_key, gateway, status, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key_id) DO UPDATE SET status = 'retired' WHERE EXCLUDED.status = 'retired'`,
    [key.keyId, key.publicKey, key.gateway, key.status, key.createdAt.toISOString()],
  );
}

export async function listAuditKeys(db: SqlRunner): Promise<AuditKeyRecord[]> {
  const rows = await db.query<Row>('SELECT * FROM audit_keys ORDER BY created_at, key_id');
  return rows.map(toAuditKey);
}
