import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayRoute } from '../approvals/app-routes.ts';
import { viewOf } from '../approvals/approval-record.ts';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import { bearerToken } from '../http/bearer-token.ts';
import { readJsonBody, sendError, sendJson } from '../http/json-io.ts';
import { DEV_ISSUER_CONFIG_NAME, loadDevIssuerKey, mintDevToken } from '../identity/dev-issuer.ts';
import type { Clock } from '../identity/session-context.ts';
import type { Store } from '../store/store.ts';
import {
  OPERATOR_API_PATHS,
  type DevTokenResponse,
  type OperatorDecisionRequest,
  type PendingApprovalsResponse,
} from '../../wire/operator-api.ts';
import type { SessionLog } from '../../wire/session-log.ts';
import { sameToken } from './operator-handle.ts';

/** What the operator routes answer from; the token is the one this gateway accepts (see `operator-handle.ts`). */
export interface OperatorRoutesOptions {
  token: string;
  broker: ApprovalBroker;
  store: Store;
  clock: Clock;
  config: Pick<GatehouseConfig, 'issuers' | 'publicUrl'>;
  /** The masked log of a session as the gateway merges it (store and journal); null when unknown. */
  getSessionLog: (sessionId: string) => Promise<SessionLog | null>;
}

/** Claims the dev issuer sets itself; a request that sets them is refused rather than silently overridden. */
export const RESERVED_DEV_CLAIMS = ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'] as const;

/** The operator API of `wire/operator-api.ts`: held approvals and their decisions, dev tokens. */
export function createOperatorRoutes(options: OperatorRoutesOptions): GatewayRoute[] {
  const { broker, store } = options;
  const guarded =
    (handle: GatewayRoute['handle']): GatewayRoute['handle'] =>
    async (req, res, params) => {
      if (authorized(req, res, options.token)) await handle(req, res, params);
    };
  return [
    {
      method: 'GET',
      path: OPERATOR_API_PATHS.approvals,
      handle: guarded(async (_req, res) => {
        const pending = await store.listPendingApprovals();
        pending.sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime());
        sendJson(res, 200, { approvals: pending.map(viewOf) } satisfies PendingApprovalsResponse);
      }),
    },
    {
      method: 'GET',
      path: OPERATOR_API_PATHS.approval,
      handle: guarded(async (_req, res, { id }) => {
        const record = await store.getApproval(id!);
        if (!record) return notFound(res, id!);
        sendJson(res, 200, viewOf(record));
      }),
    },
    {
      method: 'POST',
      path: OPERATOR_API_PATHS.decision,
      handle: guarded(async (req, res, { id }) => {
        const input = await decisionOf(req, res);
        if (!input) return;
        const result = await broker.decide(id!, {
          approved: input.approved,
          by: [input.by],
          ...(input.reason ? { reason: input.reason } : {}),
        });
        if (result.ok) return sendJson(res, 200, { id, status: result.status });
        sendError(res, result.code === 'not-found' ? 404 : 409, `approvals.${result.code}`, result.message);
      }),
    },
    {
      method: 'GET',
      path: OPERATOR_API_PATHS.sessionLog,
      handle: guarded(async (_req, res, { id }) => {
        const log = await options.getSessionLog(id!);
        if (!log)
          return sendError(res, 404, 'audit.session-unknown', `no session ${id}; check the id (the Action prints it)`);
        sendJson(res, 200, log);
      }),
    },
    { method: 'POST', path: OPERATOR_API_PATHS.devTokens, handle: guarded((req, res) => devToken(req, res, options)) },
  ];
}

function authorized(req: IncomingMessage, res: ServerResponse, expected: string): boolean {
  const presented = bearerToken(req.headers);
  if (presented.kind === 'token' && sameToken(presented.token, expected)) return true;
  sendError(
    res,
    401,
    'operator.unauthorized',
    'send the operator token as Authorization: Bearer; it is operator.token in gatehouse.yaml, or the token in the handle file the gateway writes beside its store',
  );
  return false;
}

function notFound(res: ServerResponse, id: string): void {
  sendError(res, 404, 'approvals.not-found', `no approval ${id}; list what is held with: gatehouse approvals list`);
}

async function decisionOf(req: IncomingMessage, res: ServerResponse): Promise<OperatorDecisionRequest | null> {
  const body = await readJsonBody(req);
  if (!body.ok) return (sendError(res, body.status, body.code, body.message), null);
  const value = body.value as Partial<OperatorDecisionRequest> | null;
  const valid =
    value !== null &&
    typeof value === 'object' &&
    typeof value.approved === 'boolean' &&
    typeof value.by === 'string' &&
    /^cli:[\w.@-]{1,64}$/.test(value.by) &&
    (value.reason === undefined || (typeof value.reason === 'string' && value.reason.length <= 1000));
  if (valid) return value as OperatorDecisionRequest;
  sendError(
    res,
    400,
    'approvals.bad-decision',
    'send {"approved": true|false, "by": "cli:<user>", "reason"?: "at most 1000 characters"}',
  );
  return null;
}

async function devToken(req: IncomingMessage, res: ServerResponse, options: OperatorRoutesOptions): Promise<void> {
  const dev = options.config.issuers.find((issuer) => issuer.issuer === DEV_ISSUER_CONFIG_NAME);
  if (!dev)
    return sendError(
      res,
      404,
      'dev-token.disabled',
      "this gateway has no dev issuer; add '- issuer: dev' under issuers: (for local development only, never in production)",
    );
  const body = await readJsonBody(req);
  if (!body.ok) return sendError(res, body.status, body.code, body.message);
  const claims = (body.value as { claims?: unknown } | null)?.claims;
  if (!claims || typeof claims !== 'object' || Array.isArray(claims))
    return sendError(
      res,
      400,
      'dev-token.claims',
      'send {"claims": {...}}, e.g. {"claims": {"repository": "acme/app"}}',
    );
  const reserved = RESERVED_DEV_CLAIMS.filter((name) => name in claims);
  if (reserved.length > 0)
    return sendError(res, 400, 'dev-token.claims', `the claims set ${reserved.join(', ')}; the dev issuer sets those`);
  const key = await loadDevIssuerKey(options.store);
  const token = await mintDevToken(
    key,
    dev.audience ?? options.config.publicUrl,
    claims as Record<string, unknown>,
    options.clock,
  );
  sendJson(res, 200, { token } satisfies DevTokenResponse);
}
