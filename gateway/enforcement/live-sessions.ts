import type { Clock, SessionContext } from '../identity/session-context.ts';
import type { SessionEndReason } from '../../wire/audit-events.ts';

/** Ends one live client connection, in its own protocol's words, because its session ended. */
export type EndConnection = (reason: SessionEndReason) => void;

/**
 * Every live client connection of every protocol (and every tunnel), by session: the one place that
 * knows what to close when a session ends, is revoked or expires. Adapters register each connection
 * with the way to end it and release it when it closes.
 */
export interface LiveSessions {
  /** Registers a live connection of `owner` (an adapter type, or `tunnel`); returns its release. */
  add(session: SessionContext, owner: string, end: EndConnection): () => void;
  /** Ends the session's connections (of one owner only, when given). */
  end(sessionId: string, reason: SessionEndReason, owner?: string): void;
  /** Ends every registered connection (of one owner only, when given): the gateway is shutting down. */
  endAll(reason: SessionEndReason, owner?: string): void;
  /** Live connections of a session (of one owner, when given). */
  count(sessionId: string, owner?: string): number;
  /** Stops the expiry timers. */
  close(): void;
}

interface Entry {
  owner: string;
  end: EndConnection;
}

/** Node timers overflow past 2^31-1 ms; a session that long is ended by the session service instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Builds the registry. A session's connections also end when its `expiresAt` passes, whether or not
 * anything else noticed, so no protocol keeps an expired session open.
 */
export function createLiveSessions(clock: Clock): LiveSessions {
  const sessions = new Map<string, { entries: Set<Entry>; expiry?: NodeJS.Timeout }>();

  function end(sessionId: string, reason: SessionEndReason, owner?: string): void {
    const live = sessions.get(sessionId);
    if (!live) return;
    for (const entry of [...live.entries]) {
      if (owner !== undefined && entry.owner !== owner) continue;
      live.entries.delete(entry);
      entry.end(reason);
    }
    if (live.entries.size === 0) forget(sessionId);
  }

  function forget(sessionId: string): void {
    clearTimeout(sessions.get(sessionId)?.expiry);
    sessions.delete(sessionId);
  }

  function add(session: SessionContext, owner: string, endConnection: EndConnection): () => void {
    let live = sessions.get(session.sessionId);
    if (!live) {
      live = { entries: new Set() };
      const ms = session.expiresAt.getTime() - clock.now().getTime();
      if (ms < MAX_TIMER_MS) {
        live.expiry = setTimeout(() => end(session.sessionId, 'expired'), Math.max(0, ms));
        live.expiry.unref();
      }
      sessions.set(session.sessionId, live);
    }
    const entry: Entry = { owner, end: endConnection };
    const entries = live.entries;
    entries.add(entry);
    return () => {
      if (!entries.delete(entry)) return;
      if (entries.size === 0 && sessions.get(session.sessionId)?.entries === entries) forget(session.sessionId);
    };
  }

  return {
    add,
    end,
    endAll(reason, owner) {
      for (const sessionId of [...sessions.keys()]) end(sessionId, reason, owner);
    },
    count(sessionId, owner) {
      let n = 0;
      for (const entry of sessions.get(sessionId)?.entries ?? []) if (owner === undefined || entry.owner === owner) n++;
      return n;
    },
    close() {
      for (const live of sessions.values()) clearTimeout(live.expiry);
    },
  };
}
