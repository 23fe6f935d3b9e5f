import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { CONTROL_API_PATHS, type VersionInfo } from '../../wire/control-api.ts';
import type { LiveSessions } from '../enforcement/live-sessions.ts';
import type { Clock } from '../identity/session-context.ts';
import type { SessionService } from '../identity/session-service.ts';
import { bearerToken } from './bearer-token.ts';
import { sendError, sendJson } from './json-io.ts';
import { createSessionRoutes, type SessionRoutes } from './session-routes.ts';
import { createTunnelUpgrade, type TunnelHandler } from './tunnel-upgrade.ts';

/** A hook for routes other parts own (approvals, app webhooks); answers false when it did not handle the request. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

/** What the HTTP app serves; everything stateful is injected so it stays a plain function of its inputs. */
export interface HttpAppOptions {
  sessions: SessionService;
  /** The registry tunnels join as live connections of their session. */
  live: LiveSessions;
  clock: Clock;
  version: string;
  /** Served at `/metrics`; absent means 404. */
  metrics?: Registry;
  /** The masked log of a session (audit recorder); null when there is none. */
  getSessionLog?: (sessionId: string) => Promise<unknown | null>;
  /** A session's final audit hash, for the answer of `DELETE /v1/sessions/:id`; null when not (yet) known. */
  finalHash?: (sessionId: string) => Promise<string | null>;
  onTunnel: TunnelHandler;
  extraRoutes?: ExtraRoutes;
  /** Largest WebSocket message on a tunnel. */
  maxTunnelPayloadBytes?: number;
  log?: (event: string, data: Record<string, unknown>) => void;
}

const SESSION_PATH = /^\/v1\/sessions\/([^/]+)(\/log)?$/;
const LIMITS = { maxHeaderBytes: 16 * 1024, requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 } as const;

/** What the route handlers share: the app's options and its session routes. */
interface RouteContext {
  options: HttpAppOptions;
  routes: SessionRoutes;
}

/**
 * The gateway's HTTP control API and tunnel endpoint as a Node server that is not listening yet
 * (the caller picks the address). Every bad request is a JSON 4xx; unexpected failures are a JSON
 * 500 naming no internals.
 */
export function createHttpApp(options: HttpAppOptions): http.Server {
  const log = options.log ?? (() => {});
  const context: RouteContext = {
    options,
    routes: createSessionRoutes(options.sessions, { finalHash: options.finalHash }),
  };
  const tunnels = createTunnelUpgrade({
    sessions: options.sessions,
    live: options.live,
    clock: options.clock,
    onTunnel: options.onTunnel,
    maxPayloadBytes: options.maxTunnelPayloadBytes,
    log,
  });
  const server = http.createServer(
    {
      maxHeaderSize: LIMITS.maxHeaderBytes,
      requestTimeout: LIMITS.requestTimeoutMs,
      headersTimeout: LIMITS.headersTimeoutMs,
    },
    (req, res) => {
      route(context, req, res).catch((error: unknown) => {
        log('http.failed', { method: req.method, url: req.url, error: (error as Error).message });
        sendError(res, 500, 'internal', 'the gateway failed to handle this request; see the gateway log');
      });
    },
  );
  server.on('upgrade', (req, socket, head) => tunnels.handle(req, socket, head));
  server.on('clientError', answerClientError);
  server.on('close', () => tunnels.close());
  return server;
}

async function route(context: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', 'http://gateway').pathname;
  } catch {
    return sendError(res, 400, 'request.url', 'the request URL is not valid');
  }
  const method = req.method ?? 'GET';
  if (await routeFixedPath(context, req, res, pathname, method)) return;
  const session = SESSION_PATH.exec(pathname);
  if (session) return routeSessionPath(context, req, res, session, method);
  if (pathname.startsWith(CONTROL_API_PATHS.tunnelPrefix)) {
    return sendError(
      res,
      426,
      'tunnel.upgrade',
      'the tunnel is a WebSocket: send Upgrade: websocket',
      {},
      { upgrade: 'websocket' },
    );
  }
  const { extraRoutes } = context.options;
  if (extraRoutes && (await extraRoutes(req, res))) return;
  sendError(
    res,
    404,
    'request.not-found',
    `no route ${method} ${pathname}; see /v1/version for the API the gateway serves`,
  );
}

/** Answers the control API's fixed paths (health, version, metrics, session creation); false for any other path. */
async function routeFixedPath(
  { options, routes }: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  method: string,
): Promise<boolean> {
  if (pathname === CONTROL_API_PATHS.healthz) {
    if (only(method, ['GET', 'HEAD'], res)) sendJson(res, 200, { status: 'ok' });
    return true;
  }
  if (pathname === CONTROL_API_PATHS.version) {
    if (only(method, ['GET'], res)) sendJson(res, 200, { version: options.version } satisfies VersionInfo);
    return true;
  }
  if (pathname === CONTROL_API_PATHS.metrics) {
    if (!only(method, ['GET'], res)) return true;
    if (!options.metrics) {
      sendError(res, 404, 'metrics.disabled', 'metrics are not enabled on this gateway');
      return true;
    }
    const text = await options.metrics.metrics();
    res.writeHead(200, { 'content-type': options.metrics.contentType }).end(text);
    return true;
  }
  if (pathname === CONTROL_API_PATHS.sessions) {
    if (only(method, ['POST'], res)) await routes.create(req, res);
    return true;
  }
  return false;
}

/** Answers `/v1/sessions/:id` and `/v1/sessions/:id/log`. */
async function routeSessionPath(
  context: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  session: RegExpExecArray,
  method: string,
): Promise<void> {
  let id: string;
  try {
    id = decodeURIComponent(session[1]!);
  } catch {
    return sendError(res, 400, 'request.url', 'the session id in the URL is not valid');
  }
  if (session[2]) return sessionLog(context, req, res, id, method);
  if (method === 'GET') return context.routes.show(req, res, id);
  if (method === 'DELETE') return context.routes.remove(req, res, id);
  return void only(method, ['GET', 'DELETE'], res);
}

async function sessionLog(
  { options, routes }: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  method: string,
): Promise<void> {
  if (!only(method, ['GET'], res)) return;
  if (bearerToken(req.headers).kind === 'missing' && options.extraRoutes && (await options.extraRoutes(req, res)))
    return;
  const context = await routes.sessionOf(req, res, id);
  if (!context) return;
  const found = options.getSessionLog ? await options.getSessionLog(id) : null;
  if (found === null || found === undefined)
    return sendError(res, 404, 'audit.no-log', `no log for session ${id} yet; it may not have run a command`);
  sendJson(res, 200, found);
}

/** A request Node could not parse: a raw JSON 431/400 when the socket still takes writes. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable) {
    const tooBig = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      error: tooBig
        ? { code: 'request.headers-too-large', message: `headers are over ${LIMITS.maxHeaderBytes} bytes` }
        : { code: 'request.malformed', message: 'the request is not valid HTTP' },
    });
    socket.end(
      `HTTP/1.1 ${tooBig ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else socket.destroy();
}

function only(method: string, allowed: readonly string[], res: ServerResponse): boolean {
  if (allowed.includes(method)) return true;
  sendError(res, 405, 'request.method', `use ${allowed.join(' or ')} here`, {}, { allow: allowed.join(', ') });
  return false;
}
