/**
 * The audit event vocabulary, shared by the gateway (which records events) and the GitHub App
 * (which renders them on check runs). Kept in `wire/` so neither runtime imports the other's
 * internals and a renamed event type breaks both at compile time.
 */

export const AUDIT_EVENT_TYPES = {
  sessionStart: 'session.start',
  statement: 'statement',
  statementResult: 'statement.result',
  resultSample: 'result.sample',
  approvalRequested: 'approval.requested',
  approvalDecided: 'approval.decided',
  sshExec: 'ssh.exec',
  sshShell: 'ssh.shell',
  sshSubsystem: 'ssh.subsystem',
  sshForward: 'ssh.forward',
  sshOutput: 'ssh.output',
  sshExit: 'ssh.exit',
  httpRequest: 'http.request',
  httpResponse: 'http.response',
  k8sRequest: 'k8s.request',
  k8sExec: 'k8s.exec',
  k8sOutput: 'k8s.output',
  k8sExit: 'k8s.exit',
  sessionEnd: 'session.end',
  chainEnd: 'chain.end',
  seal: 'seal',
} as const;

/** Every event type a session log may contain; verification rejects anything else. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[keyof typeof AUDIT_EVENT_TYPES];

export const SESSION_END_REASONS = {
  clientClosed: 'client-closed',
  disconnect: 'disconnect',
  expired: 'expired',
  revoked: 'revoked',
  gatewayRestart: 'gateway-restart',
} as const;

/** Why a session ended: shown to auditors, so a crash (`gateway-restart`) is distinguishable from a clean close. */
export type SessionEndReason = (typeof SESSION_END_REASONS)[keyof typeof SESSION_END_REASONS];

/** Extra keys are allowed so adapters can add protocol detail without a wire change. */
interface Open {
  [key: string]: unknown;
}

/** Who opened the session: the claims snapshot and a hash (never the value) of the OIDC token. */
export interface SessionStartData extends Open {
  claims: Record<string, unknown>;
  token_sha256?: string;
  identity_rule?: string;
  connections?: string[];
  connection?: string;
  expires_at?: string;
  gateway?: string;
}

/** A command and the policy's decision on it; `params` are already masked by the caller. */
export interface StatementData extends Open {
  connection?: string;
  text: string;
  params?: unknown[];
  decision: string;
  rule: string;
  reason?: string;
}

export interface StatementResultData extends Open {
  duration_ms: number;
  rows?: number;
  bytes?: number;
  masked_values?: number;
  sqlstate?: string;
  error?: string;
}

/** The first N rows of a result, after masking; the recorder trims `rows` to its `sampleRows`. */
export interface ResultSampleData extends Open {
  columns: string[];
  rows: unknown[][];
}

export interface ApprovalRequestedData extends Open {
  approval_id: string;
  statement: string;
  rule: string;
}

export interface ApprovalDecidedData extends Open {
  approval_id: string;
  status: string;
  decided_by?: string[];
  reason?: string | null;
}

export interface SshExecData extends Open {
  command: string;
  decision: string;
  rule: string;
  reason?: string;
}

export interface SshOutputData extends Open {
  stream: 'stdout' | 'stderr' | 'stdin';
  /** Masked text (or base64 when `encoding` says so). */
  data: string;
  encoding?: 'utf8' | 'base64';
}

export interface SshExitData extends Open {
  code: number | null;
  signal?: string | null;
  duration_ms?: number;
}

/**
 * A `kubectl exec` that was let through: `cast` is the asciicast v2 header of its recording, whose
 * events follow in `k8s.output` events of the same `channel` (an id of this exec in the session).
 */
export interface K8sExecData extends Open {
  channel: string;
  /** `namespace/pod` (and `:container` when named). */
  target: string;
  command: string[];
  cast: { version: 2; width: number; height: number; timestamp: number; title?: string };
}

/** A batch of an exec's recording: asciicast v2 events `[seconds, 'o' | 'i' | 'r', data]`, output masked. */
export interface K8sOutputData extends Open {
  channel: string;
  cast: [number, 'o' | 'i' | 'r', string][];
}

export interface K8sExitData extends Open {
  channel: string;
  /** The exit code from the exec's Status; null when it ended without one. */
  code: number | null;
  duration_ms?: number;
}

export interface SessionEndData extends Open {
  reason: SessionEndReason;
}

export const CHAIN_END_REASONS = {
  gatewayShutdown: 'gateway-shutdown',
  gatewayRestart: 'gateway-restart',
} as const;

/**
 * Closes one gateway process's chain of a session that goes on elsewhere (the gateway stopped, or
 * its successor recovered the chain after a crash while the session was already ended).
 */
export interface ChainEndData extends Open {
  reason: (typeof CHAIN_END_REASONS)[keyof typeof CHAIN_END_REASONS];
}

/** Closes a chain: an Ed25519 signature over the hash of the event before it (`session.end` or `chain.end`). */
export interface SealData extends Open {
  final_seq: number;
  final_hash: string;
  algorithm: 'ed25519';
  /** SHA-256 of the DER SubjectPublicKeyInfo of the signing key, hex. */
  key_id: string;
  /** base64 */
  signature: string;
}

/** Data shape per event type; `Open` for the ones whose detail is adapter-specific. */
export interface AuditEventData {
  'session.start': SessionStartData;
  statement: StatementData;
  'statement.result': StatementResultData;
  'result.sample': ResultSampleData;
  'approval.requested': ApprovalRequestedData;
  'approval.decided': ApprovalDecidedData;
  'ssh.exec': SshExecData;
  'ssh.shell': Open;
  'ssh.subsystem': Open;
  'ssh.forward': Open;
  'ssh.output': SshOutputData;
  'ssh.exit': SshExitData;
  'http.request': Open;
  'http.response': Open;
  'k8s.request': Open;
  'k8s.exec': K8sExecData;
  'k8s.output': K8sOutputData;
  'k8s.exit': K8sExitData;
  'session.end': SessionEndData;
  'chain.end': ChainEndData;
  seal: SealData;
}

/** One event as served by `GET /v1/sessions/:id/log` and written by the export sinks. */
export interface AuditEventWire {
  session_id: string;
  /** The gateway process's chain the event belongs to (absent for logs written before chains); `seq` counts within it. */
  chain?: string;
  seq: number;
  type: AuditEventType;
  /** ISO-8601 with milliseconds. */
  at: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}
