import { decodeJwt, errors, jwtVerify } from 'jose';
import type { Store } from '../store/store.ts';
import type { TrustedIssuer } from './issuers.ts';
import type { Clock } from './session-context.ts';

/** Asymmetric algorithms only: `none` and every HMAC algorithm are refused before any key lookup. */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
/** Runner and gateway clocks may differ this much for `nbf`, `iat` (and jose's `exp` check). */
export const CLOCK_SKEW_SECONDS = 60;

/** Why a token was refused; stable codes the control API returns. */
export const TOKEN_ERRORS = {
  malformed: 'token.malformed',
  issuer: 'token.issuer',
  audience: 'token.audience',
  expired: 'token.expired',
  notYetValid: 'token.not-yet-valid',
  algorithm: 'token.algorithm',
  signature: 'token.signature',
  unknownKey: 'token.unknown-key',
  replayed: 'token.replayed',
  claims: 'token.claims',
  keysUnavailable: 'issuer.unreachable',
} as const;
/** One of {@link TOKEN_ERRORS}: what the control API returns as `error.code`. */
export type TokenErrorCode = (typeof TOKEN_ERRORS)[keyof typeof TOKEN_ERRORS];

/** A verified token: its issuer and the claims, as values (never an exception). */
export type TokenVerification =
  { ok: true; issuer: string; claims: Record<string, unknown> } | { ok: false; code: TokenErrorCode; message: string };

/** Checks an OIDC token end to end; answers a value, never throws for a bad token. */
export interface TokenVerifier {
  verify(jwt: string): Promise<TokenVerification>;
}

/**
 * Verifies OIDC tokens: issuer known, allowlisted algorithm, signature against the issuer's keys,
 * `aud` equal to the configured audience, `exp` strictly in the future, `nbf`/`iat` at most 60 s
 * ahead, and a `jti` used once (recorded in the store until the token expires).
 */
export function createTokenVerifier(deps: {
  issuers: readonly TrustedIssuer[];
  store: Store;
  clock: Clock;
}): TokenVerifier {
  const byIssuer = new Map(deps.issuers.map((issuer) => [issuer.issuer, issuer]));
  return {
    async verify(jwt) {
      let unverifiedIss: unknown;
      try {
        unverifiedIss = decodeJwt(jwt).iss;
      } catch {
        return refuse('malformed', 'the token is not a JWT; pass the raw OIDC token from core.getIDToken()');
      }
      const trusted = typeof unverifiedIss === 'string' ? byIssuer.get(unverifiedIss) : undefined;
      if (!trusted) {
        const known = [...byIssuer.keys()].join(', ') || 'none';
        return refuse(
          'issuer',
          `the token's issuer is not trusted by this gateway (trusted: ${known}); add it under issuers: in gatehouse.yaml`,
        );
      }
      const now = deps.clock.now();
      let claims: Record<string, unknown>;
      try {
        const result = await jwtVerify(jwt, trusted.getKey, {
          algorithms: [...ALLOWED_ALGORITHMS],
          issuer: trusted.issuer,
          audience: trusted.audience,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: now,
          requiredClaims: ['exp', 'iat', 'jti'],
        });
        claims = result.payload as Record<string, unknown>;
      } catch (error) {
        return explainJoseError(error, trusted);
      }
      const nowSeconds = now.getTime() / 1000;
      if ((claims.exp as number) <= nowSeconds)
        return refuse('expired', 'the token has expired; request a fresh one right before connecting');
      if ((claims.iat as number) > nowSeconds + CLOCK_SKEW_SECONDS) {
        return refuse(
          'notYetValid',
          'the token was issued in the future; check the clocks of the runner and the gateway',
        );
      }
      if (typeof claims.jti !== 'string' || claims.jti === '')
        return refuse('claims', 'the token has no jti; tokens must be single-use');
      const fresh = await deps.store.useJti(trusted.issuer, claims.jti, new Date((claims.exp as number) * 1000));
      if (!fresh)
        return refuse(
          'replayed',
          'this token was already exchanged; each OIDC token opens one session, request a new one',
        );
      return { ok: true, issuer: trusted.issuer, claims };
    },
  };
}

function refuse(kind: keyof typeof TOKEN_ERRORS, message: string): TokenVerification {
  return { ok: false, code: TOKEN_ERRORS[kind], message };
}

function explainJoseError(error: unknown, trusted: TrustedIssuer): TokenVerification {
  if (error instanceof errors.JWTExpired)
    return refuse('expired', 'the token has expired; request a fresh one right before connecting');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return refuse(
          'audience',
          `the token's audience is not ${trusted.audience}; request it with core.getIDToken('${trusted.audience}')`,
        );
      case 'iss':
        return refuse('issuer', `the token's issuer is not ${trusted.issuer}`);
      case 'nbf':
      case 'iat':
        return refuse('notYetValid', 'the token is not valid yet; check the clocks of the runner and the gateway');
      default:
        return refuse('claims', `the token's ${error.claim} claim is missing or invalid`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return refuse('algorithm', `the token's algorithm is not accepted (allowed: ${ALLOWED_ALGORITHMS.join(', ')})`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refuse('signature', 'the token signature does not verify against the issuer keys');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return refuse(
      'unknownKey',
      "the token's key id (kid) is not among the issuer's published keys; if the issuer rotated keys, retry in a minute",
    );
  }
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    (error instanceof Error && 'code' in error && error.code === 'issuer.unreachable')
  ) {
    return refuse(
      'keysUnavailable',
      `the gateway cannot fetch the keys of ${trusted.issuer}; check its network access or configure jwks_file`,
    );
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return refuse('malformed', 'the token is not a well-formed signed JWT');
  if (error instanceof errors.JOSEError) return refuse('malformed', 'the token could not be verified');
  if (error instanceof TypeError)
    return refuse(
      'keysUnavailable',
      `the gateway cannot fetch the keys of ${trusted.issuer}; check its network access or configure jwks_file`,
    );
  return refuse('malformed', 'the token could not be verified');
}
