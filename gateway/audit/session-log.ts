import type { Store } from '../store/store.ts';
import type { SessionLog } from '../../wire/session-log.ts';
import { finalHashOf, readSessionEvents, type AuditSource } from './audit-log.ts';
import { toWireEvent } from './wire-event.ts';

/** How a live gateway reads a log: the events its journal holds yet, and a wait for a session's seal. */
export interface SessionLogOptions {
  pending?: AuditSource['pending'];
  /** Resolves once the session's ending (if under way on this gateway) is recorded. */
  settled?: (sessionId: string) => Promise<void>;
}

/**
 * The masked log of a session for `GET /v1/sessions/:id/log` (the route checks who may read it):
 * every chain merged by time, with the final hash once every chain is sealed. Null when the
 * session has neither a stored record nor events, so the route can answer 404.
 */
export async function getSessionLog(
  store: Store,
  sessionId: string,
  options: SessionLogOptions = {},
): Promise<SessionLog | null> {
  await options.settled?.(sessionId);
  const [events, session, chains] = await Promise.all([
    readSessionEvents({ store, pending: options.pending }, sessionId),
    store.getSession(sessionId),
    store.listAuditChains(sessionId),
  ]);
  if (events.length === 0 && !session) return null;
  const end = events.find((e) => e.type === 'session.end');
  const endReason = typeof end?.data.reason === 'string' ? end.data.reason : (session?.endReason ?? null);
  const hash = finalHashOf(events, chains);
  return {
    session_id: sessionId,
    status: end || session?.endedAt ? 'ended' : 'open',
    end_reason: endReason,
    started_at: (events[0]?.at ?? session?.createdAt)?.toISOString() ?? null,
    ended_at: (end?.at ?? session?.endedAt)?.toISOString() ?? null,
    sealed: hash !== null || (chains.length === 0 && events[events.length - 1]?.type === 'seal'),
    final_hash: hash,
    events: events.map(toWireEvent),
  };
}

/**
 * Waits (up to `timeoutMs`) for a session's final hash: the replicas that served it seal their
 * chains once they learn it ended, within about a second. Null when it did not come in time.
 */
export async function waitForFinalHash(
  store: Store,
  sessionId: string,
  options: SessionLogOptions & { timeoutMs: number; sleep?: (ms: number) => Promise<void> },
): Promise<string | null> {
  return (await waitForSealedLog(store, sessionId, options))?.final_hash ?? null;
}

/**
 * The session log; for a session that ended but whose chains are not all sealed yet, read again
 * (up to `timeoutMs`) until they are, so the audit check run carries the final hash.
 */
export async function waitForSealedLog(
  store: Store,
  sessionId: string,
  options: SessionLogOptions & { timeoutMs: number; sleep?: (ms: number) => Promise<void> },
): Promise<SessionLog | null> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const log = await getSessionLog(store, sessionId, options);
    const done = !log || log.final_hash || log.status !== 'ended' || log.events.length === 0;
    if (done || Date.now() >= deadline) return log;
    await sleep(100);
  }
}
