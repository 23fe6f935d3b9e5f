import { randomInt, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { Store } from '../store/store.ts';
import type { Clock } from './session-context.ts';

/** The `iss` of dev tokens: a URN, so it can never collide with a real HTTPS issuer. */
export const DEV_ISSUER = 'urn:gatehouse:dev' as const;
/** The value of `issuer:` in gatehouse.yaml that enables the dev issuer. */
export const DEV_ISSUER_CONFIG_NAME = 'dev' as const;

const SECRET_NAME = 'identity.dev-issuer.jwk';
const ALG = 'ES256';

/** The dev issuer's key pair, shared by every replica through the store (first writer wins). */
export interface DevIssuerKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

/** Loads the dev key from the store, creating it once if absent. */
export async function loadDevIssuerKey(store: Store): Promise<DevIssuerKey> {
  let stored = await store.getSecret(SECRET_NAME);
  if (stored === null) {
    const pair = await generateKeyPair(ALG, { extractable: true });
    const jwk = await exportJWK(pair.privateKey);
    const kid = await calculateJwkThumbprint(jwk);
    stored = await store.putSecretIfAbsent(SECRET_NAME, JSON.stringify({ ...jwk, kid, alg: ALG }));
  }
  const privateJwk = JSON.parse(stored) as JWK & { kid: string };
  const { d: _private, ...publicJwk } = privateJwk;
  const privateKey = (await importJWK(privateJwk, ALG)) as CryptoKey;
  return { privateKey, publicJwk: { ...publicJwk, use: 'sig' }, kid: privateJwk.kid };
}

/**
 * GitHub's documented claim set for a push to main, so dev tokens exercise the same identity
 * rules as real jobs. `overrides` replaces or adds claims.
 */
export function githubLikeClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const repository = typeof overrides.repository === 'string' ? overrides.repository : 'acme/app';
  const ref = typeof overrides.ref === 'string' ? overrides.ref : 'refs/heads/main';
  const owner = repository.split('/')[0] ?? 'acme';
  const runId = String(randomInt(1e9, 1e10));
  return {
    sub: `repo:${repository}:ref:${ref}`,
    repository,
    repository_id: '123456',
    repository_owner: owner,
    repository_owner_id: '7890',
    repository_visibility: 'private',
    ref,
    ref_type: 'branch',
    ref_protected: 'true',
    sha: 'd6e5f1a0c3b2a1908f7e6d5c4b3a29180f7e6d5c',
    run_id: runId,
    run_number: '1',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    triggering_actor: 'octocat',
    workflow: 'deploy',
    workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    workflow_sha: 'd6e5f1a0c3b2a1908f7e6d5c4b3a29180f7e6d5c',
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    job_workflow_sha: 'd6e5f1a0c3b2a1908f7e6d5c4b3a29180f7e6d5c',
    event_name: 'push',
    head_ref: '',
    base_ref: '',
    runner_environment: 'github-hosted',
    ...overrides,
  };
}

/** Mints a dev token for `audience`, valid five minutes, with GitHub's claims plus `claims`. */
export async function mintDevToken(
  key: DevIssuerKey,
  audience: string,
  claims: Record<string, unknown>,
  clock: Clock,
): Promise<string> {
  const now = Math.floor(clock.now().getTime() / 1000);
  return new SignJWT(githubLikeClaims(claims))
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .setJti(randomUUID())
    .sign(key.privateKey);
}
