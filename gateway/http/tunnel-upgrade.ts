import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { CONTROL_API_PATHS } from '../../wire/control-api.ts';
import type { LiveSessions } from '../enforcement/live-sessions.ts';
import type { Clock, SessionContext } from '../identity/session-context.ts';
import { sessionGrants } from '../identity/session-grants.ts';
import type { SessionService } from '../identity/session-service.ts';
import { bearerToken } from './bearer-token.ts';

/** Hands an authenticated tunnel stream to the adapter of its connection (the same one the native listener uses). */
export type TunnelHandler = (connection: string, stream: Duplex, session: SessionContext) => void;

/** The owner name of tunnels in the live-session registry. */
export const TUNNEL_OWNER = 'tunnel';

/** WebSocket close codes of the tunnel: 4xxx mirror HTTP statuses so clients can tell why. */
export const TUNNEL_CLOSE = { sessionEnded: 4401, gatewayClosing: 1001 } as const;

/** Sessions to authenticate against and the adapter hand-off; the limits protect the gateway from oversized frames. */
export interface TunnelUpgradeOptions {
  sessions: SessionService;
  /** The gateway's one registry of live connections: a tunnel is one, closed when its session ends. */
  live: LiveSessions;
  clock: Clock;
  onTunnel: TunnelHandler;
  /** Largest WebSocket message accepted (the local proxy sends socket chunks, ≤ 64 KiB each). */
  maxPayloadBytes?: number;
  /** Time an adapter gets to tell its client why a session ended before the tunnel is closed. */
  endGraceMs?: number;
  log?: (event: string, data: Record<string, unknown>) => void;
}

/** Mounted on the HTTP server's `upgrade` event; `close` drops live tunnels on shutdown. */
export interface TunnelUpgrade {
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

/**
 * `GET /v1/tunnel/<connection>` upgraded to a WebSocket: the Bearer session must be live and
 * grant the connection, else the upgrade is answered with a JSON 4xx. Live tunnels close when
 * their session ends.
 */
export function createTunnelUpgrade(options: TunnelUpgradeOptions): TunnelUpgrade {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes ?? 1024 * 1024,
    perMessageDeflate: false,
  });
  const log = options.log ?? (() => {});
  const graceMs = options.endGraceMs ?? 500;

  async function authorize(
    req: IncomingMessage,
  ): Promise<
    | { ok: true; connection: string; session: SessionContext }
    | { ok: false; status: number; code: string; message: string }
  > {
    let connection: string;
    try {
      const pathname = new URL(req.url ?? '/', 'http://gateway').pathname;
      if (!pathname.startsWith(CONTROL_API_PATHS.tunnelPrefix)) throw new Error('not a tunnel');
      connection = decodeURIComponent(pathname.slice(CONTROL_API_PATHS.tunnelPrefix.length));
    } catch {
      return {
        ok: false,
        status: 404,
        code: 'tunnel.not-found',
        message: 'WebSocket upgrades are served only on /v1/tunnel/<connection>',
      };
    }
    if (connection === '' || connection.includes('/'))
      return {
        ok: false,
        status: 404,
        code: 'tunnel.not-found',
        message: 'name one connection: /v1/tunnel/<connection>',
      };
    if (req.method !== 'GET')
      return { ok: false, status: 405, code: 'request.method', message: 'open the tunnel with GET' };
    const bearer = bearerToken(req.headers);
    if (bearer.kind !== 'token')
      return {
        ok: false,
        status: 401,
        code: 'auth.required',
        message: 'send the session token as Authorization: Bearer <token>',
      };
    const session = await options.sessions.authenticate(bearer.token);
    if (!session)
      return {
        ok: false,
        status: 401,
        code: 'auth.invalid',
        message: 'the session token is unknown, revoked or expired; exchange a new OIDC token',
      };
    if (!sessionGrants(session, connection, options.clock.now())) {
      return {
        ok: false,
        status: 403,
        code: 'connection.not-granted',
        message: `this session does not grant ${connection} (it grants: ${session.connections.join(', ') || 'nothing'})`,
      };
    }
    return { ok: true, connection, session };
  }

  function refuse(socket: Duplex, status: number, code: string, message: string): void {
    const body = JSON.stringify({ error: { code, message } });
    const reason =
      {
        401: 'Unauthorized',
        403: 'Forbidden',
        404: 'Not Found',
        405: 'Method Not Allowed',
        500: 'Internal Server Error',
      }[status] ?? 'Bad Request';
    if (!socket.writable) return void socket.destroy();
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  /** Registers a tunnel as a live connection of its session: closed, after the grace, when the session ends. */
  function track(session: SessionContext, ws: WebSocket): void {
    const release = options.live.add(session, TUNNEL_OWNER, (reason) => {
      if (reason === 'gateway-restart')
        return ws.close(TUNNEL_CLOSE.gatewayClosing, 'gatehouse: gateway shutting down');
      setTimeout(() => ws.close(TUNNEL_CLOSE.sessionEnded, `gatehouse: session ${reason}`), graceMs).unref();
    });
    ws.once('close', release);
  }

  async function open(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const result = await authorize(req);
    if (!result.ok) return refuse(socket, result.status, result.code, result.message);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      return refuse(socket, 400, 'tunnel.upgrade', 'the tunnel needs Upgrade: websocket');
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, result.connection, result.session));
  }

  function accept(ws: WebSocket, connection: string, session: SessionContext): void {
    track(session, ws);
    const stream = createWebSocketStream(ws);
    stream.on('error', (error) =>
      log('tunnel.error', { sessionId: session.sessionId, connection, error: error.message }),
    );
    log('tunnel.opened', { sessionId: session.sessionId, connection });
    try {
      options.onTunnel(connection, stream, session);
    } catch (error) {
      log('tunnel.handler-failed', { connection, error: (error as Error).message });
      ws.close(1011, 'gatehouse: the gateway could not open this connection');
    }
  }

  return {
    handle(req, socket, head) {
      socket.on('error', () => socket.destroy());
      open(req, socket, head).catch((error: unknown) => {
        log('tunnel.authorize-failed', { error: (error as Error).message });
        refuse(socket, 500, 'tunnel.failed', 'the tunnel could not be opened; see the gateway log');
      });
    },
    close() {
      options.live.endAll('gateway-restart', TUNNEL_OWNER);
      wss.close();
    },
  };
}
