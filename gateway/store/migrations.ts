import type { SqlExecutor } from './sql-executor.ts';

/**
 * One schema change. Versions only grow and a shipped migration is never edited: replicas and
 * embedded data directories created by older gateways are brought forward by replaying the tail.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const LOCK_KEY = 7041968;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE used_jtis (
        issuer text NOT NULL,
        jti text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (issuer, jti)
      );
      CREATE INDEX used_jtis_expires_at ON used_jtis (expires_at);
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        identity_rule text NOT NULL,
        claims jsonb NOT NULL,
        connections jsonb NOT NULL,
        ssh_keys jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        ended_at timestamptz,
        end_reason text
      );
      CREATE INDEX sessions_open ON sessions (created_at) WHERE ended_at IS NULL;
      CREATE INDEX sessions_claims ON sessions USING gin (claims jsonb_path_ops);
      CREATE TABLE audit_events (
        session_id text NOT NULL,
        seq integer NOT NULL CHECK (seq > 0),
        type text NOT NULL,
        at timestamptz NOT NULL,
        data json NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        PRIMARY KEY (session_id, seq)
      );
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
      END;
      $$;
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
      CREATE SEQUENCE approval_decisions;
      CREATE TABLE approvals (
        id text PRIMARY KEY,
        session_id text NOT NULL,
        connection text NOT NULL,
        statement_hash text NOT NULL,
        statement text NOT NULL,
        rule text NOT NULL,
        status text NOT NULL,
        requested_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        decided_at timestamptz,
        decided_by jsonb NOT NULL DEFAULT '[]',
        reason text,
        settings jsonb NOT NULL DEFAULT '{}',
        decision_seq bigint
      );
      CREATE INDEX approvals_pending ON approvals (requested_at) WHERE status = 'pending';
      CREATE INDEX approvals_decision_seq ON approvals (decision_seq) WHERE decision_seq IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'audit chains per gateway process, public audit keys',
    sql: `
      ALTER TABLE audit_events ADD COLUMN chain text NOT NULL DEFAULT '';
      ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
      ALTER TABLE audit_events ADD PRIMARY KEY (session_id, chain, seq);
      CREATE TABLE audit_chains (
        session_id text NOT NULL,
        chain text NOT NULL,
        gateway text NOT NULL,
        opened_at timestamptz NOT NULL,
        PRIMARY KEY (session_id, chain)
      );
      CREATE TABLE audit_keys (
        key_id text PRIMARY KEY,
        public_key text NOT NULL,
        gateway text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL
      );
    `,
  },
];

/**
 * Applies the migrations newer than the database, each in its own transaction, under an advisory
 * lock so replicas starting together do not race.
 */
export async function applyMigrations(
  db: SqlExecutor,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  });
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
      const rows = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (rows.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
