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

/** A session that ended and why, as replicas tell each other. */
export interface EndedSession {
  id: string;
  reason: string;
}

/**
 * One audit event, hash-chained per session and chain. Each gateway process writes its own chain
 * of a session (its journal's), so replicas serving one job never contend for one sequence; a
 * session's log is its chains merged by time. `chain` is absent (or '') for logs written before
 * chains existed.
 */
export interface AuditEventRecord {
  sessionId: string;
  chain?: string;
  seq: number;
  type: string;
  at: Date;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/**
 * A chain registered before its first event is acknowledged, so `audit verify` knows every chain
 * a session has even when a replica's journal was lost before it shipped.
 */
export interface AuditChainRecord {
  sessionId: string;
  chain: string;
  /** The gateway (host/listeners) whose process writes the chain. */
  gateway: string;
  openedAt: Date;
}

/** A public audit key the store lists; the private half never enters the store. */
export interface AuditKeyRecord {
  keyId: string;
  /** SPKI PEM. */
  publicKey: string;
  gateway: string;
  /** `retired`: a key that was once kept in the store, so its seals prove nothing against the store's owner. */
  status: 'active' | 'retired';
  createdAt: Date;
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
  /** Removes a secret (the retired audit key); true when one was removed. */
  deleteSecret(name: string): Promise<boolean>;

  /** Records a jti; false when it was already used (replay). Rows may be purged after expiresAt. */
  useJti(issuer: string, jti: string, expiresAt: Date): Promise<boolean>;

  createSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  findSessionByTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  /**
   * Ends a session once (the first end is kept); true when this call ended it. On PostgreSQL the end
   * is also announced to every replica ({@link Store.onSessionEnded}).
   */
  endSession(id: string, reason: string, at: Date): Promise<boolean>;
  /** Which of these sessions have ended, with why: the bounded poll behind {@link Store.onSessionEnded}. */
  listEndedSessions(ids: readonly string[]): Promise<EndedSession[]>;
  /** Ends, as `expired`, every open session whose expiry passed; returns them (any replica may sweep, the first wins). */
  endExpiredSessions(now: Date): Promise<EndedSession[]>;
  addSessionSshKey(id: string, publicKey: string): Promise<void>;
  /** Sessions with no end, e.g. to close them with `gateway-restart` after a crash. */
  listOpenSessions(): Promise<SessionRecord[]>;
  /** Sessions whose claims match every given claim exactly (e.g. run_id + job). */
  findSessionsByClaims(claims: Record<string, string>): Promise<SessionRecord[]>;

  /** Inserts events; fails (23505) when one is already stored. */
  appendAuditEvents(events: AuditEventRecord[]): Promise<void>;
  /**
   * Inserts what is not stored yet (the journal ships at least once) and returns the events the
   * store already holds with other content: a journal and a store that disagree.
   */
  shipAuditEvents(events: AuditEventRecord[]): Promise<AuditEventRecord[]>;
  /** Every event of a session, ordered by chain then seq (`audit/audit-log.ts` merges chains). */
  listAuditEvents(sessionId: string): Promise<AuditEventRecord[]>;
  /** The last event of one chain of a session (the unnamed chain when `chain` is omitted). */
  lastAuditEvent(sessionId: string, chain?: string): Promise<AuditEventRecord | null>;
  /** Sessions whose audit chain has events but no closing `seal` (crash recovery); optional for test fakes. */
  listUnsealedAuditSessions?(): Promise<string[]>;
  registerAuditChain(chain: AuditChainRecord): Promise<void>;
  listAuditChains(sessionId: string): Promise<AuditChainRecord[]>;
  /** Publishes a public key (first writer wins per key id; a retirement sticks). */
  putAuditKey(key: AuditKeyRecord): Promise<void>;
  listAuditKeys(): Promise<AuditKeyRecord[]>;

  createApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  /** Moves a pending approval to a final state; false if it was no longer pending. */
  decideApproval(
    id: string,
    update: Pick<ApprovalRecord, 'status' | 'decidedBy' | 'reason'>,
    at: Date,
  ): Promise<boolean>;
  listPendingApprovals(): Promise<ApprovalRecord[]>;
  /**
   * The latest approval of `rule` in a session that grants a window still open at `now`, whichever
   * replica held it: a window opened on one replica covers the session's connections on all of them.
   */
  findApprovalWindow(sessionId: string, rule: string, now: Date): Promise<ApprovalRecord | null>;
  /**
   * Notifies when a session ends on any replica (LISTEN/NOTIFY on PostgreSQL). Absent on the embedded
   * engine, where one process owns the store and so ends every session itself.
   */
  onSessionEnded?(listener: (ended: EndedSession) => void): () => void;
  /** Notifies when an approval is decided (LISTEN/NOTIFY on PostgreSQL, polling on PGlite). */
  onApprovalDecided(listener: (id: string) => void): () => void;
}

export { createStore } from './create-store.ts';
