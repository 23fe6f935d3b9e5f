import type { Enforcer } from '../enforcement/enforcer.ts';
import type { LiveSessions } from '../enforcement/live-sessions.ts';
import type { Clock, SessionContext } from '../identity/session-context.ts';

/**
 * Everything the SSH adapter needs from the rest of Gatehouse, as narrow functions: the enforcement
 * core (policy, approvals and audit mode reach it only through it), sessions and detectors. Built by
 * `ssh-factory.ts` from the gateway's parts, or from fakes around a real core in tests.
 */
export interface SshAdapterDeps {
  enforcer: Enforcer;
  /** Resolves a session token (the SSH password on the native listener); null when unknown/expired. */
  authenticate(token: string): SessionContext | null | Promise<SessionContext | null>;
  /**
   * Resolves a public key (OpenSSH line) to the live session it was registered with, for
   * publickey auth on the native listener. Optional: without it only password auth works there.
   */
  authenticateKey?(publicKey: string): SessionContext | null | Promise<SessionContext | null>;
  /** Public keys registered with a session (`POST /v1/sessions/:id/ssh-keys`), for tunnel streams. */
  sessionSshKeys?(sessionId: string): string[] | Promise<string[]>;
  /** The connection's content detectors: the text with every detected value replaced, and how many. */
  maskText(text: string, connection: string): { text: string; count: number };
  live: LiveSessions;
  /** Clock, for durations and grants. */
  clock: Clock;
  /** Where the adapter reports its own failures (audit write errors, upstream errors). */
  log(message: string): void;
}

/** Options of the recording, decided by the gateway operator rather than by policy. */
export interface SshRecordingOptions {
  /** Also record what the user typed in shells (may contain typed passwords). Default false. */
  shellInput: boolean;
  /** Bytes of stdout and of stderr kept per exec in the audit event; the rest is counted only. */
  execOutputBytes: number;
}

export const DEFAULT_RECORDING: SshRecordingOptions = { shellInput: false, execOutputBytes: 64 * 1024 } as const;
