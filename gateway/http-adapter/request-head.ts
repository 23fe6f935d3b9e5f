import { refuse, type Checked } from './refusal.ts';

/** What Node's parser hands over for one request, before the adapter trusts any of it. */
export interface RawRequestHead {
  method: string;
  url: string;
  httpVersion: string;
  /** Name, value, name, value... exactly as sent (Node's `rawHeaders`), duplicates kept. */
  rawHeaders: readonly string[];
}

/** A head the adapter may decide on: one value per header name (lower-case), body framing known. */
export interface CheckedHead {
  method: string;
  url: string;
  /** Lower-case name → values in the order sent. */
  headers: ReadonlyMap<string, readonly string[]>;
  /** `chunked` (Transfer-Encoding), `length` (Content-Length) or `none`. */
  body: 'chunked' | 'length' | 'none';
  contentLength?: number;
}

/**
 * Headers whose repetition lets two parsers disagree (which Host routes, which Content-Type the
 * body is read as, which credential counts): refused when sent twice, since Node keeps the first
 * and other servers the last.
 */
const SINGLETONS = [
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'authorization',
  'proxy-authorization',
  'expect',
  'upgrade',
] as const;

/** Headers that make a server run another method than the one the rule saw. */
export const METHOD_OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/**
 * Checks what llhttp lets through but the gateway cannot relay safely: versions other than 1.0/1.1,
 * CONNECT, TRACE (it would echo the injected credential back to the job), repeated singleton
 * headers, a Transfer-Encoding other than exactly `chunked` (llhttp accepts `gzip, chunked`),
 * method overrides, and an `Expect` other than `100-continue`.
 */
export function checkRequestHead(head: RawRequestHead): Checked<CheckedHead> {
  if (head.httpVersion !== '1.1' && head.httpVersion !== '1.0')
    return refuse(505, 'http.version', `HTTP/${head.httpVersion} is not relayed; speak HTTP/1.1`);
  const method = head.method.toUpperCase();
  if (method === 'CONNECT')
    return refuse(405, 'http.connect', 'CONNECT tunnels cannot be analysed and are refused; send plain requests');
  if (method === 'TRACE' || method === 'TRACK')
    return refuse(405, 'http.trace', `${method} would echo the gateway's credential back; it is refused`);
  const headers = collect(head.rawHeaders);
  for (const name of SINGLETONS) {
    if ((headers.get(name)?.length ?? 0) > 1)
      return refuse(400, 'http.duplicate-header', `the ${name} header is sent twice; send it once`);
  }
  for (const name of METHOD_OVERRIDES) {
    if (headers.has(name))
      return refuse(400, 'http.method-override', `the ${name} header is refused; send the real method instead`);
  }
  const expect = headers.get('expect')?.[0];
  if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue')
    return refuse(417, 'http.expect', 'only Expect: 100-continue is supported');
  return framing(method, head.url, headers);
}

function framing(method: string, url: string, headers: Map<string, string[]>): Checked<CheckedHead> {
  const te = headers.get('transfer-encoding')?.[0];
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked')
      return refuse(
        400,
        'http.framing',
        `Transfer-Encoding '${te.slice(0, 40)}' is refused; send the body as Transfer-Encoding: chunked or with a Content-Length`,
      );
    return { ok: true, value: { method, url, headers, body: 'chunked' } };
  }
  const length = headers.get('content-length')?.[0];
  if (length === undefined) return { ok: true, value: { method, url, headers, body: 'none' } };
  const contentLength = Number(length.trim());
  if (!/^\d{1,15}$/.test(length.trim()))
    return refuse(400, 'http.framing', 'Content-Length must be one decimal number');
  return { ok: true, value: { method, url, headers, body: contentLength > 0 ? 'length' : 'none', contentLength } };
}

function collect(rawHeaders: readonly string[]): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = headers.get(name);
    if (list) list.push(rawHeaders[i + 1]!);
    else headers.set(name, [rawHeaders[i + 1]!]);
  }
  return headers;
}
