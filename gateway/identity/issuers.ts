import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { IssuerConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from '../store/store.ts';
import { DEV_ISSUER, DEV_ISSUER_CONFIG_NAME, loadDevIssuerKey } from './dev-issuer.ts';

/** GitHub.com's Actions issuer, the default when gatehouse.yaml names none. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com' as const;

/** Remote JWKS caching: keys are reused ten minutes, an unknown `kid` refetches at most every 30 s. */
export const JWKS_CACHE = { cacheMaxAgeMs: 10 * 60_000, cooldownMs: 30_000, timeoutMs: 5_000 } as const;
/** Overridable per gateway (tests shorten the cooldown to prove refresh on an unknown kid). */
export type JwksCacheSettings = { [K in keyof typeof JWKS_CACHE]: number };

/** A configured issuer, ready to verify: the exact `iss`, the expected `aud`, and where its keys come from. */
export interface TrustedIssuer {
  issuer: string;
  audience: string;
  getKey: JWTVerifyGetKey;
}

/**
 * Resolves `issuers:` of gatehouse.yaml into verifiers: GitHub (well-known JWKS), GHES and other
 * hosts (`jwks_uri`, or OpenID discovery on first use), a static `jwks_file`, and `dev` (the key
 * pair kept in the store). The audience defaults to the gateway's public URL.
 */
export async function createTrustedIssuers(
  configs: readonly IssuerConfig[],
  deps: { store: Store; publicUrl: string; jwksCache?: Partial<JwksCacheSettings> },
): Promise<TrustedIssuer[]> {
  const cache: JwksCacheSettings = { ...JWKS_CACHE, ...deps.jwksCache };
  const issuers: TrustedIssuer[] = [];
  for (const config of configs) {
    const audience = config.audience ?? deps.publicUrl;
    if (config.issuer === DEV_ISSUER_CONFIG_NAME) {
      const key = await loadDevIssuerKey(deps.store);
      issuers.push({ issuer: DEV_ISSUER, audience, getKey: createLocalJWKSet({ keys: [key.publicJwk] }) });
    } else if (config.jwksFile) {
      issuers.push({ issuer: config.issuer, audience, getKey: createLocalJWKSet(await readJwksFile(config.jwksFile)) });
    } else {
      issuers.push({ issuer: config.issuer, audience, getKey: remoteKeys(config, cache) });
    }
  }
  return issuers;
}

async function readJwksFile(file: string): Promise<JSONWebKeySet> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as JSONWebKeySet;
    if (!Array.isArray(parsed.keys)) throw new Error('no keys array');
    return parsed;
  } catch {
    throw new GatehouseError(
      'issuer.jwks-file',
      `${file}: not a readable JWKS ({"keys": [...]}); download it from <issuer>/.well-known/jwks`,
    );
  }
}

function remoteOptions(cache: JwksCacheSettings) {
  return { cacheMaxAge: cache.cacheMaxAgeMs, cooldownDuration: cache.cooldownMs, timeoutDuration: cache.timeoutMs };
}

function remoteKeys(config: IssuerConfig, cache: JwksCacheSettings): JWTVerifyGetKey {
  if (config.jwksUri) return createRemoteJWKSet(new URL(config.jwksUri), remoteOptions(cache));
  if (config.issuer === GITHUB_ISSUER)
    return createRemoteJWKSet(new URL(`${GITHUB_ISSUER}/.well-known/jwks`), remoteOptions(cache));
  let discovered: Promise<JWTVerifyGetKey> | undefined;
  return async (header, token) => {
    discovered ??= discover(config.issuer, cache).catch((error: unknown) => {
      discovered = undefined;
      throw error;
    });
    return (await discovered)(header, token);
  };
}

async function discover(issuer: string, cache: JwksCacheSettings): Promise<JWTVerifyGetKey> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let jwksUri: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(cache.timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    jwksUri = ((await response.json()) as { jwks_uri?: unknown }).jwks_uri;
  } catch (error) {
    throw new GatehouseError(
      'issuer.unreachable',
      `cannot read ${url} (${(error as Error).message}); set jwks_uri or jwks_file for this issuer`,
      { cause: error },
    );
  }
  if (typeof jwksUri !== 'string') {
    throw new GatehouseError('issuer.unreachable', `${url} has no jwks_uri; set jwks_uri or jwks_file for this issuer`);
  }
  return createRemoteJWKSet(new URL(jwksUri), remoteOptions(cache));
}
