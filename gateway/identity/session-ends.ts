import type { SessionEndReason } from '../../wire/audit-events.ts';
import type { EndedSession, Store } from '../store/store.ts';
import type { Clock } from './session-context.ts';

/**
 * How fast a replica learns that a session ended elsewhere when a notification is lost (its
 * listening connection dropped): the poll of the sessions in use here.
 */
export const SESSION_END_DEFAULTS = { pollMs: 500, sweepMs: 5000 } as const;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the watch needs: the store, the clock, and the session service's own end and announcement. */
export interface SessionEndsOptions {
  store: Pick<Store, 'listEndedSessions' | 'endExpiredSessions' | 'onSessionEnded'>;
  clock: Clock;
  /** Ends a session as `expired` (the service's end: store first, then its listeners). */
  expire: (sessionId: string) => Promise<unknown>;
  /** Tells this replica's listeners that a session ended elsewhere. */
  announce: (sessionId: string, reason: SessionEndReason) => void;
  log: (event: string, data: Record<string, unknown>) => void;
  pollMs?: number;
  sweepMs?: number;
}

/**
 * The sessions in use on this replica, and how they end here whoever ends them: their expiry
 * timers (every replica enforces expiry itself), the store's notifications of ends on other
 * replicas, a bounded poll of the same sessions in case a notification is lost, and a sweep that
 * ends sessions past expiry nobody is watching (their replica died).
 */
export interface SessionEnds {
  /** A session is in use here (created or authenticated): arm its expiry and watch for its end. */
  track(sessionId: string, expiresAt: Date): void;
  /** Stops watching a session (it ended); true when it was being watched. */
  untrack(sessionId: string): boolean;
  /** Subscribes to the store, runs a first sweep and starts the poll and the sweep. */
  start(): Promise<void>;
  close(): void;
}

export function createSessionEnds(options: SessionEndsOptions): SessionEnds {
  const { store, clock, log } = options;
  const tracked = new Map<string, NodeJS.Timeout>();
  const intervals: NodeJS.Timeout[] = [];
  let unsubscribe = (): void => {};
  let polling = false;

  function arm(sessionId: string, expiresAt: Date): void {
    const delay = Math.max(0, expiresAt.getTime() - clock.now().getTime());
    const timer = setTimeout(
      () => {
        if (!tracked.has(sessionId)) return;
        if (delay >= MAX_TIMER_MS) return arm(sessionId, expiresAt);
        options
          .expire(sessionId)
          .catch((error: Error) => log('session.expire-failed', { sessionId, error: error.message }));
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    timer.unref();
    tracked.set(sessionId, timer);
  }

  function untrack(sessionId: string): boolean {
    const timer = tracked.get(sessionId);
    if (timer === undefined) return false;
    clearTimeout(timer);
    tracked.delete(sessionId);
    return true;
  }

  function endedElsewhere(ended: EndedSession): void {
    if (untrack(ended.id)) options.announce(ended.id, ended.reason as SessionEndReason);
  }

  async function poll(): Promise<void> {
    if (polling || tracked.size === 0) return;
    polling = true;
    try {
      for (const ended of await store.listEndedSessions([...tracked.keys()])) endedElsewhere(ended);
    } finally {
      polling = false;
    }
  }

  async function sweep(): Promise<void> {
    for (const ended of await store.endExpiredSessions(clock.now())) {
      log('session.ended', { sessionId: ended.id, reason: ended.reason, by: 'expiry-sweep' });
      untrack(ended.id);
      options.announce(ended.id, ended.reason as SessionEndReason);
    }
  }

  return {
    track(sessionId, expiresAt) {
      if (!tracked.has(sessionId)) arm(sessionId, expiresAt);
    },
    untrack,
    async start() {
      unsubscribe = store.onSessionEnded?.(endedElsewhere) ?? unsubscribe;
      await sweep();
      const failed = (event: string) => (error: Error) => log(event, { error: error.message });
      intervals.push(repeat(options.pollMs ?? SESSION_END_DEFAULTS.pollMs, poll, failed('session.end-poll-failed')));
      intervals.push(
        repeat(options.sweepMs ?? SESSION_END_DEFAULTS.sweepMs, sweep, failed('session.expiry-sweep-failed')),
      );
    },
    close() {
      unsubscribe();
      for (const interval of intervals.splice(0)) clearInterval(interval);
      for (const timer of tracked.values()) clearTimeout(timer);
      tracked.clear();
    },
  };
}

function repeat(ms: number, task: () => Promise<void>, onError: (error: Error) => void): NodeJS.Timeout {
  const interval = setInterval(() => void task().catch(onError), ms);
  interval.unref();
  return interval;
}
