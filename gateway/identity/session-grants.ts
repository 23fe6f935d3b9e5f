import type { SessionContext } from './session-context.ts';

/**
 * The one grant check of every data path (native listeners, tunnels, every adapter): the session is
 * live and its exchange granted exactly this connection. Globs in identity rules were resolved to
 * names when the session was made, so a name is compared, never a pattern.
 */
export function sessionGrants(session: SessionContext, connection: string, now: Date): boolean {
  return session.expiresAt.getTime() > now.getTime() && session.connections.includes(connection);
}
