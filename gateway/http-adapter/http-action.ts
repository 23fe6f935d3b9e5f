import { REDACTED } from '../content/redaction.ts';
import type { HttpRequestAction, Identity } from '../policy/actions-and-decisions.ts';
import type { TextMasker } from './json-masker.ts';
import type { DerivedAction, ExchangeOutcome, ProxiedRequest } from './proxy-types.ts';
import type { QueryParam } from './request-target.ts';

/** Query keys whose values are credentials whatever they look like: masked in records and reviews. */
const SECRET_KEY = /token|secret|passw(or)?d|api[-_]?key|^key$|signature|^sig$|auth|credential|session|^code$/i;

/** Bytes of a held request's body shown to reviewers and bound into its approval. */
const SHOWN_BODY_BYTES = 4096;

/** The query as recorded and shown: values of secret-looking keys replaced, the detectors over the rest. */
export function maskedQuery(params: readonly QueryParam[], detectors: TextMasker): string {
  return params
    .map(({ key, value }) => {
      const shown = SECRET_KEY.test(key) && value !== '' ? REDACTED : detectors.maskText(value).text;
      return `${encodeURIComponent(detectors.maskText(key).text)}=${encodeURIComponent(shown)}`;
    })
    .join('&');
}

/**
 * An `http.request` action for a checked request, with the text its approval binds to (method,
 * canonical path, query and the gathered body, so an approval never covers another body), the
 * masked text reviewers see, and the request's audit data.
 */
export function deriveHttpAction(
  request: ProxiedRequest,
  connection: string,
  identity: Identity,
  detectors: TextMasker,
): DerivedAction<HttpRequestAction> {
  const { target, gathered } = request;
  const action: HttpRequestAction = {
    type: 'http.request',
    connection,
    identity,
    method: request.method,
    path: target.decodedPath,
    queryKeys: target.query.map((p) => p.key),
    contentType: request.media?.essence ?? null,
    body: request.body,
    upgrade: request.upgrade,
  };
  const query = maskedQuery(target.query, detectors);
  const line = `${request.method} ${target.path}`;
  const body = gathered ? gathered.bytes.subarray(0, SHOWN_BODY_BYTES).toString('utf8') : '';
  const shownBody = body ? detectors.maskText(body).text : '';
  const event: Record<string, unknown> = {
    connection,
    method: request.method,
    path: target.path,
    ...(query ? { query } : {}),
    ...(action.contentType ? { content_type: action.contentType } : {}),
    ...(request.head.contentLength !== undefined ? { content_length: request.head.contentLength } : {}),
    ...(request.upgrade ? { upgrade: request.upgrade } : {}),
    ...(request.body.kind === 'unreadable' ? { body_unreadable: request.body.reason } : {}),
  };
  return {
    action,
    text: `${line}${target.rawQuery ? `?${target.rawQuery}` : ''}${body ? `\n\n${body}` : ''}`,
    shown: `${line}${query ? `?${query}` : ''}${shownBody ? `\n\n${shownBody}` : ''}`,
    event,
  };
}

/** The `http.response` event of a finished exchange: what came back, how big, how long, hashes and masked samples. */
export function httpResponseEvent(
  derived: DerivedAction<{ connection: string }>,
  outcome: ExchangeOutcome,
  detectors: TextMasker,
): Record<string, unknown> {
  const { request, response } = outcome;
  return {
    connection: derived.action.connection,
    method: derived.event.method,
    path: derived.event.path,
    status: outcome.status,
    duration_ms: Math.round(outcome.durationMs * 100) / 100,
    request_bytes: request.bytes,
    ...(request.bytes > 0
      ? { request_sha256: request.sha256, request_sample: detectors.maskText(request.sample).text }
      : {}),
    ...(response
      ? {
          response_bytes: response.bytes,
          response_sha256: response.sha256,
          response_sample: response.sample,
          ...(response.truncated ? { response_sample_truncated: true } : {}),
        }
      : {}),
    ...(outcome.masked && (outcome.masked.fields || outcome.masked.detected)
      ? { masked_fields: outcome.masked.fields, masked_values: outcome.masked.detected }
      : {}),
    ...(outcome.websocket ? { websocket: outcome.websocket } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}
