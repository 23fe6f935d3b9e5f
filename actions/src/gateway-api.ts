import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import { CONTROL_API_PATHS, type ErrorBody, type SessionEnded, type SessionGrant } from '../../wire/control-api.ts';

/** How the action reaches the gateway; injected so tests can use a fake gateway and no waiting. */
export interface GatewayApiOptions {
  baseUrl: URL;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Attempts for idempotent calls when the gateway cannot be reached or answers 502/503/504. */
  attempts?: number;
  /** First backoff delay; doubled after each failed attempt. */
  backoffMs?: number;
  timeoutMs?: number;
}

/** What `GET /v1/version` tells the action, including where the matching client bundle is served. */
export interface GatewayVersion {
  version: string;
  client?: { url: string; sha256?: string };
}

/** The masked session log the disconnect step renders; events are kept loose on purpose. */
export type SessionLog = { events: Record<string, unknown>[] } & Record<string, unknown>;

/** How ending a session went, with the session's final audit hash when the gateway gave one (`wire/control-api.ts` SessionEnded). */
export interface SessionEndOutcome {
  status: 'ended' | 'already-gone';
  finalHash: string | null;
}

/** The control-API calls the action makes, each failing with a GatehouseError that names the fix. */
export interface GatewayApi {
  version(): Promise<GatewayVersion>;
  createSession(body: { token: string; connections?: string[]; ttl?: string }): Promise<SessionGrant>;
  deleteSession(id: string, sessionToken: string): Promise<SessionEndOutcome>;
  sessionLog(id: string, sessionToken: string): Promise<SessionLog>;
  /** Absolute URL of a gateway path, for downloads. */
  url(path: string): string;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

/** Where a gateway serves its `gatehouse connect` bundle when `/v1/version` does not say. */
export const CLIENT_BUNDLE_PATH = CONTROL_API_PATHS.clientBundle;

/** The fix for each token refusal code of the gateway (`gateway/identity/token-verifier.ts`). */
const TOKEN_FIXES: Record<string, string> = {
  'token.audience':
    "make the 'audience' input equal the audience configured for the GitHub issuer in the gateway's gatehouse.yaml.",
  'token.issuer':
    "configure this job's issuer (https://token.actions.githubusercontent.com, or your GHES host) under issuers: in gatehouse.yaml.",
  'token.expired': "check the runner's clock; the token was requested moments ago.",
  'token.not-yet-valid': "check the runner's and the gateway's clocks; they differ by more than 60 seconds.",
  'token.replayed': 'each OIDC token opens one session; do not reuse a token, let the action request a fresh one.',
};

export function createGatewayApi(options: GatewayApiOptions): GatewayApi {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const attempts = options.attempts ?? 4;
  const backoffMs = options.backoffMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const origin = options.baseUrl.href.replace(/\/$/, '');
  const url = (path: string): string => `${origin}${path.startsWith('/') ? path : `/${path}`}`;

  async function once(method: string, path: string, init: { body?: unknown; bearer?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'gatehouse-action' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.bearer) headers.authorization = `Bearer ${init.bearer}`;
    try {
      return await doFetch(url(path), {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw unreachable(origin, error);
    }
  }

  async function withRetries(method: string, path: string, init: { bearer?: string } = {}): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        const response = await once(method, path, init);
        if (!RETRYABLE_STATUS.has(response.status) || attempt === attempts) return response;
        lastError = new GatehouseError(
          'gateway-unreachable',
          `The gateway at ${origin} answered ${response.status} ${attempts} times: check that it is running and healthy (GET ${origin}/healthz).`,
        );
      } catch (error) {
        lastError = error;
      }
      if (attempt < attempts) await sleep(backoffMs * 2 ** (attempt - 1));
    }
    if (lastError instanceof GatehouseError && lastError.code === 'gateway-unreachable') {
      throw new GatehouseError(
        'gateway-unreachable',
        `${lastError.message.replace(/\.$/, '')} (tried ${attempts} times with backoff).`,
        { cause: lastError.cause },
      );
    }
    throw lastError;
  }

  /** The digest the gateway's client route announces (`x-content-sha256`), when it has one. */
  async function clientDigest(path: string): Promise<string | undefined> {
    if (/^[a-z]+:/i.test(path)) return undefined;
    try {
      const response = await once('HEAD', path);
      const digest = response.headers.get('x-content-sha256');
      return response.ok && digest && /^[0-9a-f]{64}$/.test(digest) ? digest : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    url,
    async version() {
      const response = await withRetries('GET', CONTROL_API_PATHS.version);
      const body = await readJson(response, origin);
      if (!response.ok) throw apiError(response.status, body, origin, 'asking for the gateway version');
      const record = asRecord(body);
      if (typeof record?.version !== 'string') {
        throw new GatehouseError(
          'gateway-protocol',
          `${origin}/v1/version did not answer with a version: check that 'gateway' points at a Gatehouse gateway.`,
        );
      }
      const client = asRecord(record.client);
      const clientUrl = typeof client?.url === 'string' ? client.url : CLIENT_BUNDLE_PATH;
      const sha256 = typeof client?.sha256 === 'string' ? client.sha256 : await clientDigest(clientUrl);
      return { version: record.version, client: sha256 ? { url: clientUrl, sha256 } : { url: clientUrl } };
    },
    async createSession(body) {
      const response = await once('POST', '/v1/sessions', { body });
      const answer = await readJson(response, origin);
      if (!response.ok) throw apiError(response.status, answer, origin, 'opening a session');
      return parseGrant(answer, origin);
    },
    async deleteSession(id, sessionToken) {
      const response = await withRetries('DELETE', `/v1/sessions/${encodeURIComponent(id)}`, { bearer: sessionToken });
      if (response.ok) return { status: 'ended', finalHash: finalHashOf(await response.text()) };
      const answer = await readJson(response, origin);
      if (response.status === 401 || response.status === 404 || response.status === 410)
        return { status: 'already-gone', finalHash: null };
      throw apiError(response.status, answer, origin, 'ending the session');
    },
    async sessionLog(id, sessionToken) {
      const response = await withRetries('GET', `/v1/sessions/${encodeURIComponent(id)}/log`, { bearer: sessionToken });
      const answer = await readJson(response, origin);
      if (response.status === 404 && asRecord(asRecord(answer)?.error)?.code === 'audit.no-log') return { events: [] };
      if (!response.ok) throw apiError(response.status, answer, origin, 'fetching the session log');
      return parseLog(answer, origin);
    },
  };
}

function unreachable(origin: string, error: unknown): GatehouseError {
  const reason = error instanceof Error ? describeNetworkError(error) : 'unknown error';
  return new GatehouseError(
    'gateway-unreachable',
    `Cannot reach the gateway at ${origin} (${reason}): check the 'gateway' input, that the gateway is running, and that this runner can reach it.`,
    { cause: error },
  );
}

function describeNetworkError(error: Error): string {
  if (error.name === 'TimeoutError') return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

/** The `final_hash` of a DELETE answer; null from gateways before 0.2, or when it is not a SHA-256 in hex. */
function finalHashOf(text: string): string | null {
  try {
    const hash = (JSON.parse(text) as Partial<SessionEnded> | null)?.final_hash;
    return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash) ? hash : null;
  } catch {
    return null;
  }
}

async function readJson(response: Response, origin: string): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (!response.ok) return undefined;
    throw new GatehouseError(
      'gateway-protocol',
      `${origin} answered with something that is not JSON: check that 'gateway' points at a Gatehouse gateway, not a proxy or login page.`,
    );
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Turns a control-API error body into a GatehouseError whose message says what failed and how to fix it. */
export function apiError(status: number, body: unknown, origin: string, doing: string): GatehouseError {
  const error = asRecord(asRecord(body)?.error) as Partial<ErrorBody['error']> | undefined;
  const code = typeof error?.code === 'string' ? error.code : `http-${status}`;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const hint = typeof error?.hint === 'string' ? ` Hint: ${error.hint}` : '';
  const rules = Array.isArray(error?.rules) ? error.rules.filter((rule) => typeof rule?.rule === 'string') : [];
  if (code === 'connection.not-granted' || code === 'connection-not-granted') {
    return new GatehouseError(
      'connection-not-granted',
      `The gateway did not grant a requested connection: ${message}.${hint} Fix: remove it from the 'connections' input, or ask the gateway's admins to add it to the identity rule's 'connections'.`,
    );
  }
  if (status === 403 && doing === 'opening a session') {
    const tried = rules.length
      ? ` Rules tried: ${rules.map((rule) => `'${rule.rule}' (failed claims: ${(Array.isArray(rule.failed_claims) ? rule.failed_claims : []).join(', ') || 'none named'})`).join('; ')}.`
      : '';
    return new GatehouseError(
      'session-denied',
      `The gateway denied this job a session: ${message}.${tried}${hint} Fix: run the job from a ref/event the identity rule allows, or ask the gateway's admins to add an identity rule in policies/ that matches this workflow's claims.`,
    );
  }
  if (status === 401 && doing === 'opening a session') {
    return new GatehouseError(
      'token-rejected',
      `The gateway rejected the job's OIDC token: ${message}.${hint} Fix: ${TOKEN_FIXES[code] ?? TOKEN_FIXES['token.audience']}`,
    );
  }
  if (status === 401) {
    return new GatehouseError(
      'session-rejected',
      `The gateway no longer accepts this session while ${doing}: ${message}.${hint} It has ended or expired; nothing more to clean up.`,
    );
  }
  const fix =
    code === 'issuer.unreachable'
      ? " Fix: the gateway cannot fetch the OIDC issuer's keys; check its outbound access to the issuer (token.actions.githubusercontent.com or your GHES host)."
      : '';
  return new GatehouseError(
    code,
    `The gateway at ${origin} answered ${status} while ${doing}: ${message}.${hint}${fix}`,
  );
}

function parseGrant(body: unknown, origin: string): SessionGrant {
  const record = asRecord(body);
  const connections = Array.isArray(record?.connections) ? record.connections.map(asRecord) : undefined;
  if (
    typeof record?.id !== 'string' ||
    typeof record.token !== 'string' ||
    typeof record.expires_at !== 'string' ||
    !connections ||
    connections.some((c) => typeof c?.name !== 'string' || typeof c.type !== 'string')
  ) {
    throw new GatehouseError(
      'gateway-protocol',
      `${origin}/v1/sessions answered without a session id, token, expiry and connections: upgrade the gateway or pin a matching action version.`,
    );
  }
  return {
    id: record.id,
    token: record.token,
    expires_at: record.expires_at,
    connections: connections.map((c) => ({
      name: String(c!.name),
      type: c!.type as 'postgres' | 'ssh' | 'http' | 'mysql' | 'kubernetes',
      tunnel: typeof c!.tunnel === 'string' ? c!.tunnel : '',
      ...(typeof c!.namespace === 'string' ? { namespace: c!.namespace } : {}),
    })),
  };
}

function parseLog(body: unknown, origin: string): SessionLog {
  if (Array.isArray(body))
    return { events: body.map(asRecord).filter((e): e is Record<string, unknown> => e !== undefined) };
  const record = asRecord(body);
  if (record && Array.isArray(record.events)) {
    return {
      ...record,
      events: record.events.map(asRecord).filter((e): e is Record<string, unknown> => e !== undefined),
    };
  }
  throw new GatehouseError(
    'gateway-protocol',
    `${origin} answered the session log without events: upgrade the gateway or pin a matching action version.`,
  );
}
