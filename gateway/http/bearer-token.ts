import type { IncomingHttpHeaders } from 'node:http';

/** What the Authorization header holds: a bearer token, nothing, or something else. */
export type BearerHeader = { kind: 'token'; token: string } | { kind: 'missing' } | { kind: 'malformed' };

/** Reads `Authorization: Bearer <token>` (printable ASCII, at most 4 KiB). */
export function bearerToken(headers: IncomingHttpHeaders): BearerHeader {
  const value = headers.authorization;
  if (value === undefined) return { kind: 'missing' };
  const match = /^Bearer +([\x21-\x7e]{1,4096})$/i.exec(value.trim());
  return match ? { kind: 'token', token: match[1]! } : { kind: 'malformed' };
}
