/**
 * The one persistence interface of the gateway. Two engines implement it (embedded PGlite in a
 * data directory, and PostgreSQL for several replicas sharing state) over one SQL schema, so
 * every feature that needs durable state (sessions, single-use jti, approvals, audit) is written
 * once and runs on both.
 */
import type { ApprovalStatus } from '../../wire/approvals.ts';

/** A gateway session as stored: the token itself is never stored, only its SHA-256. */
export interface SessionRecord {
  id: string;
  tokenHash: string;
  identityRule: string;
  claims: Record<string, unknown>;
  connections: string[];
  createdAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  /** Public keys (OpenSSH format) registered by `gatehouse connect` for SSH tunnel auth. */
  sshKeys: string[];
}

/** One audit event, hash-chained per session. */
export interface AuditEventRecord {
  sessionId: string;
  seq: number;
  type: string;
  at: Date;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** A held statement as stored, so a pending approval outlives the replica (and the restart) that holds its client. */
export interface ApprovalRecord {
  id: string;
  sessionId: string;
  connection: string;
  statementHash: string;
  /** Masked statement text / command shown to reviewers. */
  statement: string;
  rule: string;
  status: ApprovalStatus;
  requestedAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
  decidedBy: string[];
  reason: string | null;
  settings: Record<string, unknown>;
}

/** Everything the gateway persists, behind one interface so features never know which engine runs underneath. */
export interface Store {
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Small key/value for gateway keys (audit signing key, dev issuer key, SSH host key). */
  getSecret(name: string): Promise<string | null>;
  /** Sets `name` only if absent; returns the value now stored (first writer wins across replicas). */
  putSecretIfAbsent(name: string, value: string): Promise<string>;

  /** Records a jti; false when it was already used (replay). Rows may be purged after expiresAt. */
  useJti(issuer: string, jti: string, expiresAt: Date): Promise<boolean>;

  createSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  findSessionByTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  endSession(id: string, reason: string, at: Date): Promise<void>;
  addSessionSshKey(id: string, publicKey: string): Promise<void>;
  /** Sessions with no end, e.g. to close them with `gateway-restart` after a crash. */
  listOpenSessions(): Promise<SessionRecord[]>;
  /** Sessions whose claims match every given claim exactly (e.g. run_id + job). */
  findSessionsByClaims(claims: Record<string, string>): Promise<SessionRecord[]>;

  appendAuditEvents(events: AuditEventRecord[]): Promise<void>;
  listAuditEvents(sessionId: string): Promise<AuditEventRecord[]>;
  lastAuditEvent(sessionId: string): Promise<AuditEventRecord | null>;
  /** Sessions whose audit chain has events but no closing `seal` (crash recovery); optional for test fakes. */
  listUnsealedAuditSessions?(): Promise<string[]>;

  createApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  /** Moves a pending approval to a final state; false if it was no longer pending. */
  decideApproval(
    id: string,
    update: Pick<ApprovalRecord, 'status' | 'decidedBy' | 'reason'>,
    at: Date,
  ): Promise<boolean>;
  listPendingApprovals(): Promise<ApprovalRecord[]>;
  /** Notifies when an approval is decided (LISTEN/NOTIFY on PostgreSQL, polling on PGlite). */
  onApprovalDecided(listener: (id: string) => void): () => void;
}

export { createStore } from './create-store.ts';
