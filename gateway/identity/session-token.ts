import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { SESSION_TOKEN_PREFIX } from '../../wire/control-api.ts';

/** A new opaque session token: a recognisable prefix and 256 random bits, base64url. */
export function newSessionToken(): string {
  return `${SESSION_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A new session id: not secret (it appears in URLs and audit), so a UUID is enough. */
export function newSessionId(): string {
  return `ses_${randomUUID().replaceAll('-', '')}`;
}

/** What the store keeps instead of the token. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time string equality for secrets (compares hashes, so lengths leak nothing). */
export function secretsEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}
