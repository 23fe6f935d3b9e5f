import type { Store } from '../store/store.ts';
import type { SessionLog } from '../../wire/session-log.ts';
import { toWireEvent } from './wire-event.ts';

/**
 * The masked log of a session for `GET /v1/sessions/:id/log` (the route checks who may read it).
 * Null when the session has neither a stored record nor events, so the route can answer 404.
 */
export async function getSessionLog(store: Store, sessionId: string): Promise<SessionLog | null> {
  const [events, session] = await Promise.all([store.listAuditEvents(sessionId), store.getSession(sessionId)]);
  if (events.length === 0 && !session) return null;
  const end = events.find((e) => e.type === 'session.end');
  const endReason = typeof end?.data.reason === 'string' ? end.data.reason : (session?.endReason ?? null);
  return {
    session_id: sessionId,
    status: end || session?.endedAt ? 'ended' : 'open',
    end_reason: endReason,
    started_at: (events[0]?.at ?? session?.createdAt)?.toISOString() ?? null,
    ended_at: (end?.at ?? session?.endedAt)?.toISOString() ?? null,
    sealed: events[events.length - 1]?.type === 'seal',
    events: events.map(toWireEvent),
  };
}
