import type { CreateSessionRequest } from '../../wire/control-api.ts';
import { parseDurationSeconds } from './duration.ts';

const MAX_TOKEN_CHARS = 16 * 1024;
const MAX_CONNECTIONS = 64;

/** A validated `POST /v1/sessions` body, or the reason it is not one. */
export type ParsedExchangeRequest =
  { ok: true; token: string; connections?: string[]; ttlSeconds?: number } | { ok: false; message: string };

/** Checks the shape of an exchange body; every problem becomes a message naming the field and the fix. An empty `connections` list means all granted. */
export function parseExchangeRequest(body: unknown): ParsedExchangeRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, message: 'the body must be a JSON object like {"token": "<OIDC JWT>"}' };
  }
  const { token, connections, ttl, ...rest } = body as Partial<Record<keyof CreateSessionRequest, unknown>> &
    Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    return { ok: false, message: `unknown field(s) ${unknown.join(', ')}; allowed: token, connections, ttl` };
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
    return { ok: false, message: "'token' must be the job's OIDC token (a JWT string)" };
  }
  let wanted: string[] | undefined;
  if (connections !== undefined) {
    if (
      !Array.isArray(connections) ||
      connections.length > MAX_CONNECTIONS ||
      connections.some((c) => typeof c !== 'string' || c.length === 0 || c.length > 200)
    ) {
      return { ok: false, message: "'connections' must be a list of connection names" };
    }
    wanted = connections.length === 0 ? undefined : [...new Set(connections as string[])];
  }
  let ttlSeconds: number | undefined;
  if (ttl !== undefined) {
    if (typeof ttl !== 'string' && typeof ttl !== 'number')
      return { ok: false, message: "'ttl' must be a duration like 15m" };
    try {
      ttlSeconds = parseDurationSeconds(String(ttl), "'ttl'");
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  }
  return { ok: true, token, connections: wanted, ttlSeconds };
}
