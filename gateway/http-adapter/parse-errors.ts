import type { HttpRefusal } from './refusal.ts';

/** A Node `clientError`: llhttp's code (`HPE_*`) and its reason, or the adapter's own deadline codes. */
export interface ParseError {
  code?: string;
  reason?: string;
  message?: string;
}

/** The adapter's own deadline errors (Node's timers do not run on a tunnel stream). */
export const DEADLINE_CODES = {
  headers: 'GATEHOUSE_HEADERS_TIMEOUT',
  body: 'GATEHOUSE_BODY_TIMEOUT',
} as const;

interface Mapping {
  status: number;
  code: string;
  fix: string;
}

const FRAMING: Mapping = {
  status: 400,
  code: 'http.framing',
  fix: 'send one Content-Length or Transfer-Encoding: chunked, never both, never repeated',
};

const BY_CODE: Record<string, Mapping> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'http.header-too-large', fix: 'send smaller headers (16 KiB in all)' },
  HPE_PAUSED_H2_UPGRADE: {
    status: 505,
    code: 'http.http2-prior-knowledge',
    fix: 'HTTP/2 is not relayed; speak HTTP/1.1 to the local proxy (curl --http1.1)',
  },
  HPE_INVALID_VERSION: { status: 505, code: 'http.version', fix: 'speak HTTP/1.1 (or 1.0)' },
  HPE_INVALID_METHOD: {
    status: 400,
    code: 'http.method',
    fix: 'use a standard method (GET, POST, PUT, PATCH, DELETE, ...)',
  },
  HPE_INVALID_URL: {
    status: 400,
    code: 'http.target',
    fix: 'percent-encode spaces, controls and non-ASCII in the path',
  },
  HPE_UNEXPECTED_CONTENT_LENGTH: FRAMING,
  HPE_INVALID_CONTENT_LENGTH: FRAMING,
  HPE_INVALID_TRANSFER_ENCODING: FRAMING,
  HPE_INVALID_CHUNK_SIZE: { status: 400, code: 'http.chunk', fix: 'send chunk sizes as plain hexadecimal with CRLF' },
  HPE_STRICT: { status: 400, code: 'http.chunk', fix: 'end every chunk with CRLF' },
  HPE_CR_EXPECTED: { status: 400, code: 'http.line-ending', fix: 'end every line with CRLF' },
  HPE_LF_EXPECTED: { status: 400, code: 'http.line-ending', fix: 'end every line with CRLF (no bare CR or LF)' },
  HPE_INVALID_HEADER_TOKEN: {
    status: 400,
    code: 'http.header-syntax',
    fix: 'send each header on one line as Name: value (no folded continuation lines, no spaces before the colon)',
  },
  [DEADLINE_CODES.headers]: {
    status: 408,
    code: 'http.headers-timeout',
    fix: 'send the whole request head promptly',
  },
  [DEADLINE_CODES.body]: { status: 408, code: 'http.body-timeout', fix: 'send the request body promptly' },
};

/**
 * The answer to a request llhttp (strict: `insecureHTTPParser` off) or a deadline refused before
 * the adapter saw it: smuggling attempts (duplicate or conflicting Content-Length, Transfer-Encoding
 * with Content-Length, obfuscated Transfer-Encoding), obs-fold, bad chunk sizes, oversized heads,
 * HTTP/2 prior knowledge, slow clients. The parser's own reason is kept; it holds no request data.
 */
export function parseErrorRefusal(error: ParseError): HttpRefusal {
  const mapping = (error.code && BY_CODE[error.code]) || {
    status: 400,
    code: 'http.malformed',
    fix: 'send a well-formed HTTP/1.1 request',
  };
  const why = (error.reason ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 120);
  return {
    status: mapping.status,
    code: mapping.code,
    message: `the gateway could not read this request${why ? ` (${why})` : ''}; ${mapping.fix}`,
  };
}
