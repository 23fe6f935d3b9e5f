import type { Identity } from '../policy/actions-and-decisions.ts';

/**
 * What an authenticated session token resolves to. Adapters receive this with every stream so
 * they never look up sessions themselves: the identity feeds policy decisions and audit, the
 * connection list bounds what the stream may reach, and the expiry lets them close in time.
 */
export interface SessionContext {
  sessionId: string;
  identity: Identity;
  /** Connection names this session may open (already resolved against gatehouse.yaml). */
  connections: string[];
  expiresAt: Date;
}

/** Time source, passed in so tests can move it; the gateway uses `{ now: () => new Date() }`. */
export interface Clock {
  now(): Date;
}

/** The wall clock, for production wiring. */
export const systemClock: Clock = { now: () => new Date() };
