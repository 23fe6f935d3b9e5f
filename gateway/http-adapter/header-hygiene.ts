import type { CredentialPlacement } from './credential.ts';
import type { TextMasker } from './json-masker.ts';

/** Header list as `[name, value]` pairs, names as sent (or lower-case for what the gateway sets). */
export type HeaderPairs = Array<[string, string]>;

/** Hop-by-hop headers (RFC 9110 7.6.1) and their obsolete kin: they describe one connection, never the message. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * What the job must not send to the target: its own credentials (the gateway's replace them),
 * forwarding headers (the target would trust a client-chosen address), URL overrides some servers
 * route by (`X-Original-URL`), body framing and negotiation the gateway sets itself, and Range
 * (a masked body is only masked whole).
 */
const REQUEST_DROPPED: ReadonlySet<string> = new Set([
  'host',
  'authorization',
  'proxy-authorization',
  'cookie',
  'cookie2',
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'content-length',
  'expect',
  'accept-encoding',
  'range',
  'if-range',
]);

/** What the job must not get from the target: its cookies and challenges, and connection-level advice. */
const RESPONSE_DROPPED: ReadonlySet<string> = new Set([
  'set-cookie',
  'set-cookie2',
  'www-authenticate',
  'proxy-authenticate',
  'alt-svc',
]);

/** Validators of body bytes: wrong once the body is masked or decoded. */
const BODY_DIGESTS: ReadonlySet<string> = new Set([
  'content-length',
  'content-md5',
  'digest',
  'content-digest',
  'repr-digest',
]);

/** How the adapter builds the target's request headers; `drop` is the hook for protocols built on this one. */
export interface RequestHeaderOptions {
  host: string;
  credential: CredentialPlacement;
  /** Body length to announce; undefined lets the body go chunked. */
  contentLength?: number;
  /** Extra client headers to drop (the Kubernetes adapter drops `Impersonate-*`). */
  drop?: (lowerName: string) => boolean;
}

function connectionListed(pairs: readonly (readonly [string, string])[]): Set<string> {
  const listed = new Set<string>();
  for (const [name, value] of pairs)
    if (name.toLowerCase() === 'connection')
      for (const token of value.split(',')) listed.add(token.trim().toLowerCase());
  return listed;
}

function pairsOf(rawHeaders: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return pairs;
}

/**
 * The headers sent to the target for a client request: hop-by-hop headers (and any the client's
 * Connection header names), credentials, forwarding and framing headers dropped; Host set to the
 * target; `Accept-Encoding: identity`; the connection's credential added last.
 */
export function targetRequestHeaders(rawHeaders: readonly string[], options: RequestHeaderOptions): HeaderPairs {
  const pairs = pairsOf(rawHeaders);
  const listed = connectionListed(pairs);
  const credentialHeader = options.credential.header?.name;
  const out: HeaderPairs = [['host', options.host]];
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || REQUEST_DROPPED.has(lower)) continue;
    if (lower.startsWith('x-forwarded-') || lower.startsWith('proxy-') || lower === credentialHeader) continue;
    if (options.drop?.(lower)) continue;
    out.push([name, value]);
  }
  out.push(['accept-encoding', 'identity']);
  if (options.contentLength !== undefined) out.push(['content-length', String(options.contentLength)]);
  if (options.credential.header) out.push([options.credential.header.name, options.credential.header.value]);
  return out;
}

/** How the target's response reaches the job. */
export interface ResponseHeaderOptions {
  /** The body is masked or decoded: its length, encoding and digests are no longer the target's. */
  bodyRewritten: boolean;
  /** The target's origin and base path, so a redirect back into it stays on the local proxy. */
  targetBase: URL;
  detectors: TextMasker;
}

/** The response headers with what was masked in them. */
export interface FilteredResponseHeaders {
  headers: HeaderPairs;
  detected: number;
}

/**
 * The headers sent to the job for a target response: hop-by-hop, cookies and authentication
 * challenges dropped, body validators dropped when the body is rewritten, a `Location` inside the
 * target made relative, and every value run through the content detectors.
 */
export function clientResponseHeaders(
  rawHeaders: readonly string[],
  options: ResponseHeaderOptions,
): FilteredResponseHeaders {
  const pairs = pairsOf(rawHeaders);
  const listed = connectionListed(pairs);
  const out: HeaderPairs = [];
  let detected = 0;
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || RESPONSE_DROPPED.has(lower)) continue;
    if (options.bodyRewritten && (BODY_DIGESTS.has(lower) || lower === 'content-encoding')) continue;
    let kept = lower === 'location' ? localLocation(value, options.targetBase) : value;
    if (options.detectors.active) {
      const masked = options.detectors.maskText(kept);
      detected += masked.count;
      kept = masked.text;
    }
    out.push([name, kept]);
  }
  return { headers: out, detected };
}

/** `https://api.internal/v2/x?y` → `/x?y` when the connection's URL is `https://api.internal/v2`. */
export function localLocation(location: string, base: URL): string {
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    return location;
  }
  if (url.origin !== base.origin) return location;
  const prefix = base.pathname.replace(/\/+$/, '');
  if (prefix && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return location;
  const local = url.pathname.slice(prefix.length) || '/';
  return `${local}${url.search}${url.hash}`;
}
