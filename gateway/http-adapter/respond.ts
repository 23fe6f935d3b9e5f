import type { ServerResponse } from 'node:http';
import type { ProxyVerdict } from './proxy-types.ts';
import { refusalBody, type HttpRefusal } from './refusal.ts';

/** Renders a refusal body; protocols on the proxy may answer in their own shape (a Kubernetes `Status`). */
export type RefusalRenderer = (
  refusal: HttpRefusal,
  rule?: string,
  hint?: string,
) => { contentType: string; body: string };

export const jsonRefusal: RefusalRenderer = (refusal, rule, hint) => ({
  contentType: 'application/json',
  body: refusalBody(refusal, { ...(rule ? { rule } : {}), ...(hint ? { hint } : {}) }),
});

/** HTTP status per refusal code of the enforcement core: a policy answer is 403, a gateway fault 5xx. */
const STATUS_BY_CODE: Record<string, number> = {
  'audit-unavailable': 503,
  'approvals-failed': 503,
  'engine-error': 500,
};

/** The refusal a denied verdict is answered with: `policy.<code>`, the core's message, the rule and the fix. */
export function verdictRefusal(verdict: Extract<ProxyVerdict, { allowed: false }>): HttpRefusal {
  return { status: STATUS_BY_CODE[verdict.code] ?? 403, code: `policy.${verdict.code}`, message: verdict.message };
}

/**
 * Answers a request in the target's place. With `close` the connection ends after it (the request's
 * framing or body is not trusted, or was not read); the unread body is never forwarded anywhere.
 * A response already under way cannot be replaced: the stream is cut instead.
 */
export function sendRefusal(
  res: ServerResponse,
  refusal: HttpRefusal,
  options: { close: boolean; rule?: string; hint?: string; render?: RefusalRenderer },
): void {
  if (res.headersSent) return void res.destroy();
  const { contentType, body } = (options.render ?? jsonRefusal)(refusal, options.rule, options.hint);
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (options.close) headers.connection = 'close';
  res.writeHead(refusal.status, headers);
  res.end(body);
  if (options.close) res.once('finish', () => res.socket?.destroySoon?.() ?? res.socket?.end());
}
