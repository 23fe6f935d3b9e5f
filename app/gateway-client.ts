import { randomBytes } from 'node:crypto';
import {
  GATEWAY_APP_ROUTES,
  routePath,
  signMessage,
  type ApprovalDecisionMessage,
  type ApprovalView,
  type CloseJobRequest,
  type CloseJobResponse,
  type SessionLog,
} from '../wire/approvals.ts';

/** An answer of the gateway: the status decides, the body explains (`message` on errors). */
export interface GatewayAnswer<T> {
  status: number;
  body: T & { error?: string; message?: string };
}

/**
 * The app's signed calls to the gateway (see `wire/approvals.ts`). Every call carries an HMAC
 * over its body (or method and path) with a timestamp; POSTs carry a fresh nonce.
 */
export interface GatewayClient {
  getApproval(id: string): Promise<GatewayAnswer<ApprovalView>>;
  decide(decision: Omit<ApprovalDecisionMessage, 'nonce'>): Promise<GatewayAnswer<ApprovalView>>;
  closeJob(request: Omit<CloseJobRequest, 'nonce'>): Promise<GatewayAnswer<CloseJobResponse>>;
  sessionLog(sessionId: string): Promise<GatewayAnswer<SessionLog>>;
}

/** The gateway the app calls and the shared secret that signs the calls; fetch and clock are injectable for tests. */
export interface GatewayClientOptions {
  gatewayUrl: string;
  secret: string;
  now?: () => Date;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const base = options.gatewayUrl.replace(/\/+$/, '');
  const now = options.now ?? (() => new Date());
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call<T>(method: 'GET' | 'POST', path: string, payload?: object): Promise<GatewayAnswer<T>> {
    const body =
      payload === undefined ? undefined : JSON.stringify({ ...payload, nonce: randomBytes(16).toString('hex') });
    const headers = {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...signMessage(options.secret, body ?? `GET ${path}`, now()),
    };
    const response = await fetchImpl(`${base}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { error: 'gateway.bad-answer', message: `the gateway answered HTTP ${response.status} without JSON` };
    }
    return { status: response.status, body: parsed as GatewayAnswer<T>['body'] };
  }

  return {
    getApproval: (id) => call('GET', routePath(GATEWAY_APP_ROUTES.approval, id)),
    decide: (decision) => call('POST', routePath(GATEWAY_APP_ROUTES.decision, decision.id), decision),
    closeJob: (request) => call('POST', GATEWAY_APP_ROUTES.closeJob, request),
    sessionLog: (id) => call('GET', routePath(GATEWAY_APP_ROUTES.sessionLog, id)),
  };
}
