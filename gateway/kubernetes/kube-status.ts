/** The `reason` a Status of each HTTP code carries, as the API server spells them. */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/**
 * A refusal as a Kubernetes `Status`, the body every client of the API server understands:
 * kubectl prints `Error from server (Forbidden): <message>`, client-go returns it as a typed error.
 * `details.causes` carries the rule and the fix, so nothing is lost for tools that read them.
 */
export function kubeStatus(
  code: number,
  message: string,
  extra: { rule?: string; hint?: string; code?: string } = {},
): Record<string, unknown> {
  const causes = [
    ...(extra.code ? [{ reason: 'GatehouseCode', message: extra.code }] : []),
    ...(extra.rule ? [{ reason: 'GatehouseRule', message: extra.rule }] : []),
    ...(extra.hint ? [{ reason: 'GatehouseHint', message: extra.hint }] : []),
  ];
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: extra.hint ? `${message} (${extra.hint})` : message,
    reason: REASONS[code] ?? 'Unknown',
    ...(causes.length ? { details: { causes } } : {}),
    code,
  };
}

/** {@link kubeStatus} serialized, with its content type. */
export function kubeStatusBody(
  code: number,
  message: string,
  extra: { rule?: string; hint?: string; code?: string } = {},
): { contentType: string; body: string } {
  return { contentType: 'application/json', body: JSON.stringify(kubeStatus(code, message, extra)) };
}
