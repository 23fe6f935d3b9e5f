import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionEnded, SessionInfo } from '../../wire/control-api.ts';
import type { SessionContext } from '../identity/session-context.ts';
import { SESSION_DEFAULTS, type SessionService } from '../identity/session-service.ts';
import { bearerToken } from './bearer-token.ts';
import { readJsonBody, sendError, sendJson } from './json-io.ts';

const AUTH_CHALLENGE = { 'www-authenticate': 'Bearer realm="gatehouse"' } as const;

/** Handlers of `/v1/sessions` and `/v1/sessions/:id`, as plain functions of a request. */
export interface SessionRoutes {
  create(req: IncomingMessage, res: ServerResponse): Promise<void>;
  show(req: IncomingMessage, res: ServerResponse, id: string): Promise<void>;
  remove(req: IncomingMessage, res: ServerResponse, id: string): Promise<void>;
  /** Answers for a bearer-authenticated request on session `id`; null when it already answered an error. */
  sessionOf(req: IncomingMessage, res: ServerResponse, id: string): Promise<SessionContext | null>;
}

/** Session routes over a {@link SessionService}; each handler answers exactly once, errors included. */
export function createSessionRoutes(
  sessions: SessionService,
  audit: { finalHash?: (sessionId: string) => Promise<string | null> } = {},
): SessionRoutes {
  const sessionOf = (req: IncomingMessage, res: ServerResponse, id: string): Promise<SessionContext | null> =>
    authenticateSession(sessions, req, res, id);

  return {
    sessionOf,
    async create(req, res) {
      const body = await readJsonBody(req);
      if (!body.ok) return sendError(res, body.status, body.code, body.message);
      const result = await sessions.exchange(body.value, { ip: req.socket.remoteAddress ?? 'unknown' });
      if (!result.ok) return sendError(res, result.status, result.error.code, result.error.message, result.error);
      sendJson(res, 201, result.grant);
    },
    async show(req, res, id) {
      const context = await sessionOf(req, res, id);
      if (!context) return;
      sendJson(res, 200, await describeSession(sessions, id, context));
    },
    async remove(req, res, id) {
      const context = await sessionOf(req, res, id);
      if (!context) return;
      if (context.sessionId.startsWith(SESSION_DEFAULTS.staticSessionPrefix)) {
        return sendError(
          res,
          400,
          'session.static',
          'static tokens are configured in gatehouse.yaml and cannot be revoked over the API',
        );
      }
      // Only the session's own holder can DELETE it: that is the job ending it (the disconnect step).
      await sessions.revoke(id, 'disconnect');
      const finalHash = audit.finalHash ? await audit.finalHash(id).catch(() => null) : null;
      sendJson(res, 200, { id, ended: true, end_reason: 'disconnect', final_hash: finalHash } satisfies SessionEnded);
    },
  };
}

/** The bearer-authenticated context of session `id`, or null once it has answered the error. */
async function authenticateSession(
  sessions: SessionService,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
): Promise<SessionContext | null> {
  const bearer = bearerToken(req.headers);
  if (bearer.kind !== 'token') {
    sendError(res, 401, 'auth.required', 'send the session token as Authorization: Bearer <token>', {}, AUTH_CHALLENGE);
    return null;
  }
  const context = await sessions.authenticate(bearer.token);
  if (!context) {
    sendError(
      res,
      401,
      'auth.invalid',
      'the session token is unknown, revoked or expired; exchange a new OIDC token',
      {},
      AUTH_CHALLENGE,
    );
    return null;
  }
  if (context.sessionId !== id) {
    sendError(res, 404, 'session.not-found', `no session ${id} for this token; use the id returned with the token`);
    return null;
  }
  return context;
}

/** The GET answer for a session: its stored record, or what the live context knows when none is stored. */
async function describeSession(sessions: SessionService, id: string, context: SessionContext): Promise<SessionInfo> {
  const record = await sessions.get(id);
  if (record) {
    return {
      id: record.id,
      identity_rule: record.identityRule,
      created_at: record.createdAt.toISOString(),
      expires_at: record.expiresAt.toISOString(),
      ended_at: record.endedAt?.toISOString() ?? null,
      end_reason: record.endReason,
      connections: sessions.describeConnections(record.connections),
      claims: record.claims,
    };
  }
  return {
    id: context.sessionId,
    identity_rule: context.identity.identityRule ?? context.sessionId,
    created_at: new Date(0).toISOString(),
    expires_at: context.expiresAt.toISOString(),
    ended_at: null,
    end_reason: null,
    connections: sessions.describeConnections(context.connections),
    claims: { ...context.identity.claims },
  };
}
