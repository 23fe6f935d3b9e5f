import type { Action, Decision } from '../policy/types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { SshAuditEventData, SshAuditEventType } from './ssh-audit-events.ts';

/**
 * What a held (`review`) SSH command asks the approvals broker. The SSH adapter does not know
 * how approvals are stored or notified; it only waits for the outcome, so the same broker that
 * holds PostgreSQL statements can hold SSH commands.
 */
export interface SshHoldRequest {
  session: SessionContext;
  connection: string;
  /** The command as reviewers see it: content detectors already applied. */
  command: string;
  decision: Decision;
  /** Fires when the client went away while waiting: the broker should cancel the request. */
  signal: AbortSignal;
  /** Lets the broker tell the waiting client where to approve (written to the client's stderr). */
  notify(message: string): void;
}

/** The broker's final answer for a held command. */
export interface SshHoldOutcome {
  approved: boolean;
  /** Shown to the client when not approved (e.g. "denied by @octocat", "timed out after 10m"). */
  reason: string;
  approvalId?: string;
}

/**
 * Everything the SSH gateway needs from the rest of Gatehouse, as narrow functions, so the lead
 * can wire the real policy engine, session service, recorder, broker and detectors (or fakes in
 * tests) without the adapter importing their internals.
 */
export interface SshGatewayDeps {
  /** The policy engine. Throwing or rejecting counts as a denial (fail closed). */
  decide(action: Action): Decision | Promise<Decision>;
  /** Resolves a session token (the SSH password on the native listener); null when unknown/expired. */
  authenticate(token: string): SessionContext | null | Promise<SessionContext | null>;
  /**
   * Resolves a public key (OpenSSH line) to the live session it was registered with, for
   * publickey auth on the native listener. Optional: without it only password auth works there.
   */
  authenticateKey?(publicKey: string): SessionContext | null | Promise<SessionContext | null>;
  /** Public keys registered with a session (`POST /v1/sessions/:id/ssh-keys`), for tunnel streams. */
  sessionSshKeys?(sessionId: string): string[] | Promise<string[]>;
  /** Appends one audit event to the session's hash-chained log (the recorder's `record`). */
  record<T extends SshAuditEventType>(sessionId: string, type: T, data: SshAuditEventData[T]): Promise<void>;
  /** The connection's content detectors: the text with every detected value replaced, and how many. */
  maskText(text: string, connection: string): { text: string; count: number };
  /** Approvals broker; without it a `review` decision is a denial. */
  hold?(request: SshHoldRequest): Promise<SshHoldOutcome>;
  /** Called with every engine decision, e.g. to count decisions per protocol in the metrics. */
  onDecision?(action: Action, decision: Decision): void;
  /** Clock, for durations and session expiry. */
  now?(): Date;
  /** Where the adapter reports its own failures (audit write errors, upstream errors). */
  log?(message: string): void;
}

/** Options of the recording, decided by the gateway operator rather than by policy. */
export interface SshRecordingOptions {
  /** Also record what the user typed in shells (may contain typed passwords). Default false. */
  shellInput: boolean;
  /** Bytes of stdout and of stderr kept per exec in the audit event; the rest is counted only. */
  execOutputBytes: number;
}

export const DEFAULT_RECORDING: SshRecordingOptions = { shellInput: false, execOutputBytes: 64 * 1024 } as const;
