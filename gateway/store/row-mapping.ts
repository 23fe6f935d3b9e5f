import type { ApprovalRecord, AuditChainRecord, AuditEventRecord, AuditKeyRecord, SessionRecord } from './store.ts';

/** Raw rows as both drivers return them (json/jsonb parsed, timestamptz as Date). */
export type Row = Record<string, unknown>;

function date(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function toSession(row: Row): SessionRecord {
  return {
    id: String(row.id),
    tokenHash: String(row.token_hash),
    identityRule: String(row.identity_rule),
    claims: json<Record<string, unknown>>(row.claims),
    connections: json<string[]>(row.connections),
    createdAt: date(row.created_at),
    expiresAt: date(row.expires_at),
    endedAt: dateOrNull(row.ended_at),
    endReason: row.end_reason === null || row.end_reason === undefined ? null : String(row.end_reason),
    sshKeys: json<string[]>(row.ssh_keys),
  };
}

export function toAuditEvent(row: Row): AuditEventRecord {
  const chain = typeof row.chain === 'string' ? row.chain : '';
  return {
    sessionId: String(row.session_id),
    ...(chain ? { chain } : {}),
    seq: Number(row.seq),
    type: String(row.type),
    at: date(row.at),
    data: json<Record<string, unknown>>(row.data),
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}

export function toAuditChain(row: Row): AuditChainRecord {
  return {
    sessionId: String(row.session_id),
    chain: String(row.chain),
    gateway: String(row.gateway),
    openedAt: date(row.opened_at),
  };
}

export function toAuditKey(row: Row): AuditKeyRecord {
  return {
    keyId: String(row.key_id),
    publicKey: String(row.public_key),
    gateway: String(row.gateway),
    status: row.status === 'retired' ? 'retired' : 'active',
    createdAt: date(row.created_at),
  };
}

export function toApproval(row: Row): ApprovalRecord {
  return {
    id: String(row.id),
    sessionId: String(row.session_id),
    connection: String(row.connection),
    statementHash: String(row.statement_hash),
    statement: String(row.statement),
    rule: String(row.rule),
    status: String(row.status) as ApprovalRecord['status'],
    requestedAt: date(row.requested_at),
    expiresAt: date(row.expires_at),
    decidedAt: dateOrNull(row.decided_at),
    decidedBy: json<string[]>(row.decided_by),
    reason: row.reason === null || row.reason === undefined ? null : String(row.reason),
    settings: json<Record<string, unknown>>(row.settings),
  };
}
