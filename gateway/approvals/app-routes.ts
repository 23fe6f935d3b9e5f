import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store } from '../store/store.ts';
import type { Clock } from '../identity/session-context.ts';
import type { ApprovalBroker } from './broker.ts';
import { viewOf } from './approval-record.ts';
import {
  APPROVAL_HEADERS,
  GATEWAY_APP_ROUTES,
  SIGNATURE_MAX_SKEW_SECONDS,
  approveCommandFor,
  routePath,
  verifyMessage,
  type ApprovalDecisionMessage,
  type CloseJobRequest,
  type CloseJobResponse,
  type SessionLog,
} from '../../wire/approvals.ts';
import { SESSION_END_REASONS, type SessionEndReason } from '../../wire/audit-events.ts';

/**
 * One gateway HTTP route the GitHub App calls. Plain Node handlers with the path parameters
 * already extracted, so the HTTP app can mount them as `extraRoutes` whatever router it uses.
 */
export interface GatewayRoute {
  method: 'GET' | 'POST';
  /** Express-style pattern, e.g. `/v1/approvals/:id/decision`. */
  path: string;
  handle(req: IncomingMessage, res: ServerResponse, params: { id?: string }): Promise<void>;
}

/** What the app routes need: the broker and store they answer from and the secret that proves a caller is the app. */
export interface AppRoutesOptions {
  broker: ApprovalBroker;
  store: Store;
  clock: Clock;
  /** The shared `approvals.secret`; without it every app call is refused. */
  secret: string | undefined;
  publicUrl: string;
  /** The audit recorder's masked log of a session; null when the session has none. */
  getSessionLog?: (sessionId: string) => Promise<SessionLog | null>;
  /** Ends a session through the session service; defaults to marking it ended in the store. */
  closeSession?: (sessionId: string, reason: SessionEndReason) => Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const NONCE_ISSUER = 'gatehouse-app';

/** The routes of the app ↔ gateway contract in `wire/approvals.ts`. */
export function createAppRoutes(options: AppRoutesOptions): GatewayRoute[] {
  const { broker, store, clock, secret } = options;
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const closeSession =
    options.closeSession ?? ((id: string, reason: string) => store.endSession(id, reason, clock.now()));

  async function authenticate(req: IncomingMessage, res: ServerResponse, body: string): Promise<boolean> {
    if (!secret) {
      send(res, 503, {
        error: 'approvals.no-secret',
        message: 'the gateway has no approvals.secret; set it in gatehouse.yaml to accept the app',
      });
      return false;
    }
    const signed = req.method === 'GET' ? `GET ${req.url ?? ''}` : body;
    const check = verifyMessage(
      secret,
      signed,
      {
        timestamp: header(req, APPROVAL_HEADERS.timestamp),
        signature: header(req, APPROVAL_HEADERS.signature),
      },
      clock.now(),
    );
    if (!check.ok) send(res, 401, { error: 'approvals.bad-signature', message: `refused: ${check.problem}` });
    return check.ok;
  }

  async function freshNonce(res: ServerResponse, nonce: unknown): Promise<boolean> {
    if (typeof nonce !== 'string' || nonce.length < 16 || nonce.length > 128) {
      send(res, 400, {
        error: 'approvals.bad-nonce',
        message: 'the message needs a random nonce of 16 to 128 characters',
      });
      return false;
    }
    const expires = new Date(clock.now().getTime() + 2 * SIGNATURE_MAX_SKEW_SECONDS * 1000);
    if (!(await store.useJti(NONCE_ISSUER, nonce, expires))) {
      send(res, 409, {
        error: 'approvals.replayed',
        message: 'this message was already received; the app must send a new nonce with each message',
      });
      return false;
    }
    return true;
  }

  return [
    {
      method: 'GET',
      path: GATEWAY_APP_ROUTES.approval,
      async handle(req, res, { id = '' }) {
        const record = await store.getApproval(id);
        if (!record) return send(res, 404, { error: 'approvals.not-found', message: `approval ${id} does not exist` });
        if (!header(req, APPROVAL_HEADERS.signature)) {
          return send(res, 200, {
            id: record.id,
            status: record.status,
            rule: record.rule,
            connection: record.connection,
            expiresAt: record.expiresAt.toISOString(),
            approveCommand: approveCommandFor(record.id),
          });
        }
        if (!(await authenticate(req, res, ''))) return;
        send(res, 200, viewOf(record));
      },
    },
    {
      method: 'POST',
      path: GATEWAY_APP_ROUTES.decision,
      async handle(req, res, { id = '' }) {
        const body = await readBody(req, res);
        if (body === null || !(await authenticate(req, res, body))) return;
        const message = parseJson(body) as Partial<ApprovalDecisionMessage> | null;
        if (!isDecision(message) || message.id !== id) {
          return send(res, 400, {
            error: 'approvals.bad-decision',
            message: 'expected {id (same as the path), approved, by[], statementHash, sha, runId, runAttempt, nonce}',
          });
        }
        if (!(await freshNonce(res, message.nonce))) return;
        const result = await broker.decide(id, {
          approved: message.approved,
          by: message.by,
          reason: message.reason,
          fromApp: true,
          expect: {
            statementHash: message.statementHash,
            sha: message.sha,
            runId: message.runId,
            runAttempt: message.runAttempt,
          },
        });
        if (!result.ok) {
          const status = result.code === 'not-found' ? 404 : 409;
          return send(res, status, { error: `approvals.${result.code}`, message: result.message });
        }
        const record = await store.getApproval(id);
        send(res, 200, record ? viewOf(record) : { id, status: result.status });
      },
    },
    {
      method: 'POST',
      path: GATEWAY_APP_ROUTES.closeJob,
      async handle(req, res) {
        const body = await readBody(req, res);
        if (body === null || !(await authenticate(req, res, body))) return;
        const message = parseJson(body) as Partial<CloseJobRequest> | null;
        if (
          !message ||
          ![message.repository, message.runId, message.runAttempt, message.jobId].every(
            (v) => typeof v === 'string' && v !== '',
          )
        ) {
          return send(res, 400, {
            error: 'approvals.bad-close',
            message: 'expected {repository, runId, runAttempt, jobId, nonce} as strings',
          });
        }
        if (!(await freshNonce(res, message.nonce))) return;
        const sessions = await store.findSessionsByClaims({
          repository: message.repository!,
          run_id: message.runId!,
          run_attempt: message.runAttempt!,
        });
        const ofJob = sessions.filter(
          (s) => s.claims.check_run_id === undefined || String(s.claims.check_run_id) === message.jobId,
        );
        const answer: CloseJobResponse = { sessions: [] };
        for (const session of ofJob) {
          if (!session.endedAt) await closeSession(session.id, SESSION_END_REASONS.disconnect);
          answer.sessions.push({
            id: session.id,
            connections: session.connections,
            logUrl: `${publicUrl}${routePath(GATEWAY_APP_ROUTES.sessionLog, session.id)}`,
          });
        }
        send(res, 200, answer);
      },
    },
    {
      method: 'GET',
      path: GATEWAY_APP_ROUTES.sessionLog,
      async handle(req, res, { id = '' }) {
        if (!(await authenticate(req, res, ''))) return;
        const log = options.getSessionLog ? await options.getSessionLog(id) : null;
        if (!log)
          return send(res, 404, {
            error: 'audit.no-log',
            message: `no log for session ${id}; it may never have run a command`,
          });
        send(res, 200, log);
      },
    },
  ];
}

function isDecision(m: Partial<ApprovalDecisionMessage> | null): m is ApprovalDecisionMessage {
  return (
    !!m &&
    typeof m.id === 'string' &&
    typeof m.approved === 'boolean' &&
    Array.isArray(m.by) &&
    m.by.length > 0 &&
    m.by.every((b) => typeof b === 'string') &&
    (m.reason === undefined || typeof m.reason === 'string') &&
    [m.statementHash, m.sha, m.runId, m.runAttempt].every((v) => typeof v === 'string')
  );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        send(res, 413, { error: 'approvals.too-large', message: `the body is over ${MAX_BODY_BYTES} bytes` });
        req.destroy();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

function decodedId(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A Node handler serving `routes`; answers false when no route matches, so it can sit in front of others. */
export function routeHandler(routes: GatewayRoute[]): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const compiled = routes.map((route) => ({
    route,
    pattern: new RegExp(`^${route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(':id', '(?<id>[^/]+)')}$`),
  }));
  return async (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://gateway').pathname;
    for (const { route, pattern } of compiled) {
      const match = req.method === route.method ? pattern.exec(pathname) : null;
      if (!match) continue;
      const id = match.groups?.id === undefined ? undefined : decodedId(match.groups.id);
      if (id === null)
        send(res, 400, {
          error: 'request.url',
          message: 'the id in the path is not valid percent-encoding; use the id exactly as the gateway sent it',
        });
      else await route.handle(req, res, { id });
      return true;
    }
    return false;
  };
}
