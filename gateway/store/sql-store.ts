import * as audit from './audit-tables.ts';
import { applyMigrations } from './migrations.ts';
import { toApproval, toSession, type Row } from './row-mapping.ts';
import { APPROVAL_CHANNEL, SESSION_END_CHANNEL, type SqlExecutor } from './sql-executor.ts';
import type {
  ApprovalRecord,
  AuditChainRecord,
  AuditEventRecord,
  AuditKeyRecord,
  EndedSession,
  SessionRecord,
  Store,
} from './store.ts';

/** Used jtis are kept this long past their expiry, beyond any clock skew the verifier allows. */
const JTI_RETENTION_MINUTES = 60;

/** The {@link Store} in SQL, written once for both engines. */
export class SqlStore implements Store {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.#db);
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  async getSecret(name: string): Promise<string | null> {
    const rows = await this.#db.query<{ value: string }>('SELECT value FROM secrets WHERE name = $1', [name]);
    return rows[0]?.value ?? null;
  }

  async putSecretIfAbsent(name: string, value: string): Promise<string> {
    await this.#db.query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
      name,
      value,
    ]);
    const stored = await this.getSecret(name);
    return stored ?? value;
  }

  async deleteSecret(name: string): Promise<boolean> {
    const rows = await this.#db.query('DELETE FROM secrets WHERE name = $1 RETURNING 1 AS gone', [name]);
    return rows.length === 1;
  }

  async useJti(issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.#db.query(
      'INSERT INTO used_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS fresh',
      [issuer, jti, expiresAt.toISOString()],
    );
    await this.#db.query(
      `DELETE FROM used_jtis WHERE expires_at < now() - interval '${JTI_RETENTION_MINUTES} minutes'`,
    );
    return rows.length === 1;
  }

  async createSession(session: SessionRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO sessions (id, token_hash, identity_rule, claims, connections, ssh_keys, created_at, expires_at, ended_at, end_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        session.id,
        session.tokenHash,
        session.identityRule,
        JSON.stringify(session.claims),
        JSON.stringify(session.connections),
        JSON.stringify(session.sshKeys),
        session.createdAt.toISOString(),
        session.expiresAt.toISOString(),
        session.endedAt?.toISOString() ?? null,
        session.endReason,
      ],
    );
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const rows = await this.#db.query<Row>('SELECT * FROM sessions WHERE id = $1', [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async findSessionByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    const rows = await this.#db.query<Row>('SELECT * FROM sessions WHERE token_hash = $1', [tokenHash]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  /** Keeps the first end: a later `endSession` (e.g. disconnect after expiry) does not rewrite history. */
  async endSession(id: string, reason: string, at: Date): Promise<boolean> {
    const rows = await this.#db.query(
      `WITH ended AS (
         UPDATE sessions SET ended_at = $3, end_reason = $2 WHERE id = $1 AND ended_at IS NULL RETURNING id, end_reason
       )
       SELECT id, pg_notify('${SESSION_END_CHANNEL}', id || ' ' || end_reason) FROM ended`,
      [id, reason, at.toISOString()],
    );
    return rows.length === 1;
  }

  async listEndedSessions(ids: readonly string[]): Promise<EndedSession[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db.query<{ id: string; end_reason: string }>(
      'SELECT id, end_reason FROM sessions WHERE id = ANY($1::text[]) AND ended_at IS NOT NULL',
      [ids],
    );
    return rows.map((row) => ({ id: row.id, reason: row.end_reason }));
  }

  /** The end is dated at the expiry, not at the sweep: the session was over then, whoever noticed later. */
  async endExpiredSessions(now: Date): Promise<EndedSession[]> {
    const rows = await this.#db.query<{ id: string; end_reason: string }>(
      `WITH ended AS (
         UPDATE sessions SET ended_at = expires_at, end_reason = 'expired'
         WHERE ended_at IS NULL AND expires_at <= $1 RETURNING id, end_reason
       )
       SELECT id, end_reason, pg_notify('${SESSION_END_CHANNEL}', id || ' ' || end_reason) FROM ended`,
      [now.toISOString()],
    );
    return rows.map((row) => ({ id: row.id, reason: row.end_reason }));
  }

  async addSessionSshKey(id: string, publicKey: string): Promise<void> {
    await this.#db.query(
      `UPDATE sessions SET ssh_keys = ssh_keys || jsonb_build_array($2::text)
       WHERE id = $1 AND NOT ssh_keys @> jsonb_build_array($2::text)`,
      [id, publicKey],
    );
  }

  async listOpenSessions(): Promise<SessionRecord[]> {
    const rows = await this.#db.query<Row>('SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY created_at, id');
    return rows.map(toSession);
  }

  /** An empty filter matches nothing, so a caller bug cannot select (and end) every session. */
  async findSessionsByClaims(claims: Record<string, string>): Promise<SessionRecord[]> {
    if (Object.keys(claims).length === 0) return [];
    const rows = await this.#db.query<Row>('SELECT * FROM sessions WHERE claims @> $1::jsonb ORDER BY created_at, id', [
      JSON.stringify(claims),
    ]);
    return rows.map(toSession);
  }

  appendAuditEvents(events: AuditEventRecord[]): Promise<void> {
    return audit.appendAuditEvents(this.#db, events);
  }

  shipAuditEvents(events: AuditEventRecord[]): Promise<AuditEventRecord[]> {
    return audit.shipAuditEvents(this.#db, events);
  }

  listAuditEvents(sessionId: string): Promise<AuditEventRecord[]> {
    return audit.listAuditEvents(this.#db, sessionId);
  }

  lastAuditEvent(sessionId: string, chain?: string): Promise<AuditEventRecord | null> {
    return audit.lastAuditEvent(this.#db, sessionId, chain);
  }

  listUnsealedAuditSessions(): Promise<string[]> {
    return audit.listUnsealedAuditSessions(this.#db);
  }

  registerAuditChain(chain: AuditChainRecord): Promise<void> {
    return audit.registerAuditChain(this.#db, chain);
  }

  listAuditChains(sessionId: string): Promise<AuditChainRecord[]> {
    return audit.listAuditChains(this.#db, sessionId);
  }

  putAuditKey(key: AuditKeyRecord): Promise<void> {
    return audit.putAuditKey(this.#db, key);
  }

  listAuditKeys(): Promise<AuditKeyRecord[]> {
    return audit.listAuditKeys(this.#db);
  }

  async createApproval(approval: ApprovalRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO approvals (id, session_id, connection, statement_hash, statement, rule, status, requested_at, expires_at,
         decided_at, decided_by, reason, settings)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        approval.id,
        approval.sessionId,
        approval.connection,
        approval.statementHash,
        approval.statement,
        approval.rule,
        approval.status,
        approval.requestedAt.toISOString(),
        approval.expiresAt.toISOString(),
        approval.decidedAt?.toISOString() ?? null,
        JSON.stringify(approval.decidedBy),
        approval.reason,
        JSON.stringify(approval.settings),
      ],
    );
  }

  async getApproval(id: string): Promise<ApprovalRecord | null> {
    const rows = await this.#db.query<Row>('SELECT * FROM approvals WHERE id = $1', [id]);
    return rows[0] ? toApproval(rows[0]) : null;
  }

  async decideApproval(
    id: string,
    update: Pick<ApprovalRecord, 'status' | 'decidedBy' | 'reason'>,
    at: Date,
  ): Promise<boolean> {
    if (update.status === 'pending') return false;
    const rows = await this.#db.query(
      `WITH decided AS (
         UPDATE approvals SET status = $2, decided_by = $3, reason = $4, decided_at = $5,
           decision_seq = nextval('approval_decisions')
         WHERE id = $1 AND status = 'pending' RETURNING id
       )
       SELECT id, pg_notify('${APPROVAL_CHANNEL}', id) FROM decided`,
      [id, update.status, JSON.stringify(update.decidedBy), update.reason, at.toISOString()],
    );
    return rows.length === 1;
  }

  async listPendingApprovals(): Promise<ApprovalRecord[]> {
    const rows = await this.#db.query<Row>(
      "SELECT * FROM approvals WHERE status = 'pending' ORDER BY requested_at, id",
    );
    return rows.map(toApproval);
  }

  async findApprovalWindow(sessionId: string, rule: string, now: Date): Promise<ApprovalRecord | null> {
    const rows = await this.#db.query<Row>(
      `SELECT * FROM approvals
       WHERE session_id = $1 AND rule = $2 AND status = 'approved' AND settings->'policy' ? 'windowSeconds'
         AND decided_at + make_interval(secs => (settings->'policy'->>'windowSeconds')::double precision) > $3
       ORDER BY decided_at DESC LIMIT 1`,
      [sessionId, rule, now.toISOString()],
    );
    return rows[0] ? toApproval(rows[0]) : null;
  }

  onApprovalDecided(listener: (id: string) => void): () => void {
    return this.#db.watchApprovals(listener);
  }

  get onSessionEnded(): Store['onSessionEnded'] {
    const watch = this.#db.watchSessionEnds?.bind(this.#db);
    if (!watch) return undefined;
    return (listener) =>
      watch((payload) => {
        const at = payload.indexOf(' ');
        if (at > 0) listener({ id: payload.slice(0, at), reason: payload.slice(at + 1) });
      });
  }
}
