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
  /** Whether the chain is closed by a signed `seal` event (verify it with `gatehouse audit verify`). */
  sealed: boolean;
  events: AuditEventWire[];
}
