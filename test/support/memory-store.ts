import type { ApprovalRecord, AuditEventRecord, SessionRecord, Store } from '../../gateway/store/store.ts';

/**
 * An in-memory {@link Store} for unit tests of code that only needs sessions, jti and secrets.
 * It follows the interface's contracts (first writer wins, single-use jti) without durability.
 */
export function createMemoryStore(): Store {
  const secrets = new Map<string, string>();
  const jtis = new Map<string, Date>();
  const sessions = new Map<string, SessionRecord>();
  const events = new Map<string, AuditEventRecord[]>();
  const approvals = new Map<string, ApprovalRecord>();
  const copy = (s: SessionRecord): SessionRecord => ({ ...s, claims: { ...s.claims }, connections: [...s.connections], sshKeys: [...s.sshKeys] });
  return {
    async migrate() {},
    async close() {},
    async getSecret(name) {
      return secrets.get(name) ?? null;
    },
    async putSecretIfAbsent(name, value) {
      if (!secrets.has(name)) secrets.set(name, value);
      return secrets.get(name)!;
    },
    async useJti(issuer, jti, expiresAt) {
      const key = `${issuer}\u0000${jti}`;
      if (jtis.has(key)) return false;
      jtis.set(key, expiresAt);
      return true;
    },
    async createSession(session) {
      sessions.set(session.id, copy(session));
    },
    async getSession(id) {
      const found = sessions.get(id);
      return found ? copy(found) : null;
    },
    async findSessionByTokenHash(tokenHash) {
      const found = [...sessions.values()].find((s) => s.tokenHash === tokenHash);
      return found ? copy(found) : null;
    },
    async endSession(id, reason, at) {
      const found = sessions.get(id);
      if (found && !found.endedAt) Object.assign(found, { endedAt: at, endReason: reason });
    },
    async addSessionSshKey(id, publicKey) {
      sessions.get(id)?.sshKeys.push(publicKey);
    },
    async listOpenSessions() {
      return [...sessions.values()].filter((s) => !s.endedAt).map(copy);
    },
    async findSessionsByClaims(claims) {
      return [...sessions.values()].filter((s) => Object.entries(claims).every(([k, v]) => s.claims[k] === v)).map(copy);
    },
    async appendAuditEvents(batch) {
      for (const event of batch) events.set(event.sessionId, [...(events.get(event.sessionId) ?? []), event]);
    },
    async listAuditEvents(sessionId) {
      return [...(events.get(sessionId) ?? [])];
    },
    async lastAuditEvent(sessionId) {
      return events.get(sessionId)?.at(-1) ?? null;
    },
    async createApproval(approval) {
      approvals.set(approval.id, { ...approval });
    },
    async getApproval(id) {
      return approvals.get(id) ?? null;
    },
    async decideApproval(id, update, at) {
      const found = approvals.get(id);
      if (!found || found.status !== 'pending') return false;
      Object.assign(found, update, { decidedAt: at });
      return true;
    },
    async listPendingApprovals() {
      return [...approvals.values()].filter((a) => a.status === 'pending');
    },
    onApprovalDecided() {
      return () => {};
    },
  };
}
