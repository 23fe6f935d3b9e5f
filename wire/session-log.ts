import type { AuditEventWire } from './audit-events.ts';

/**
 * The masked log of one session, as `GET /v1/sessions/:id/log` returns it to the Action's
 * disconnect step and the GitHub App. Everything in `events` was masked before it was recorded,
 * so this document is safe to show on a pull request's checks.
 */
export interface SessionLog {
  session_id: string;
  /** `ended` once a `session.end` event is in the chain. */
  status: 'open' | 'ended';
  end_reason: string | null;
  started_at: string | null;
  ended_at: string | null;
  /** Whether every chain is closed by a signed `seal` event (verify it with `gatehouse audit verify`). */
  sealed: boolean;
  /**
   * The session's final hash once it ended and every chain is sealed (null before): publish it
   * outside the gateway, then `gatehouse audit verify <session> --expect <hash>` proves the store
   * still holds exactly this log. Absent from gateways before 0.2.
   */
  final_hash?: string | null;
  events: AuditEventWire[];
}
