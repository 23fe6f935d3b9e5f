/**
 * Why the gateway answers a request itself instead of forwarding it: a value, so the checks stay
 * pure and the adapter turns every refusal into the same JSON error response at one place.
 */
export interface HttpRefusal {
  status: number;
  /** Stable code, e.g. `http.path-traversal`; tests and clients switch on it. */
  code: string;
  /** Names the problem and the fix; never carries a secret. */
  message: string;
}

/** A check's answer: the value it produced, or the refusal to send. */
export type Checked<T> = { ok: true; value: T } | { ok: false; refusal: HttpRefusal };

export function refuse(status: number, code: string, message: string): { ok: false; refusal: HttpRefusal } {
  return { ok: false, refusal: { status, code, message } };
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The reason phrase of a status the gateway sends itself. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** The JSON body of every answer the gateway gives in the target's place (same shape as the control API). */
export function refusalBody(refusal: HttpRefusal, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ error: { code: refusal.code, message: refusal.message, ...extra } });
}

/**
 * A whole HTTP/1.1 response for a refusal, for places that have only a raw stream (a parse error,
 * a refused upgrade): the connection is closed after it, since the stream's framing is no longer trusted.
 */
export function rawRefusal(
  refusal: HttpRefusal,
  extra: Record<string, unknown> = {},
  rendered?: { contentType: string; body: string },
): string {
  const body = rendered?.body ?? refusalBody(refusal, extra);
  return (
    `HTTP/1.1 ${refusal.status} ${reasonPhrase(refusal.status)}\r\n` +
    `Content-Type: ${rendered?.contentType ?? 'application/json'}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
