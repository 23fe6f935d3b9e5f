import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ISSUER, loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { createTrustedIssuers } from '../../../gateway/identity/issuers.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { createTokenVerifier } from '../../../gateway/identity/token-verifier.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { Store } from '../../../gateway/store/store.ts';
import { startTestIssuer, type TestIssuer } from '../../support/test-issuer.ts';

const AUDIENCE = 'https://gatehouse.test';
let issuer: TestIssuer;
let dir: string;
let store: Store;

beforeAll(async () => {
  issuer = await startTestIssuer(AUDIENCE);
  dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-issuers-'));
  store = await createStore(path.join(dir, 'store'));
});
afterAll(async () => {
  await issuer.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function verifierFor(configs: Parameters<typeof createTrustedIssuers>[0], cooldownMs?: number) {
  const issuers = await createTrustedIssuers(configs, {
    store,
    publicUrl: AUDIENCE,
    jwksCache: cooldownMs === undefined ? {} : { cooldownMs },
  });
  return createTokenVerifier({ issuers, store, clock: systemClock });
}

describe('trusted issuers', () => {
  it('finds the JWKS through OpenID discovery and keeps it cached across tokens', async () => {
    const verifier = await verifierFor([{ issuer: issuer.issuer, audience: AUDIENCE }]);
    const before = issuer.jwksFetches();
    expect(await verifier.verify(await issuer.mint())).toMatchObject({ ok: true, issuer: issuer.issuer });
    expect(await verifier.verify(await issuer.mint())).toMatchObject({ ok: true });
    expect(issuer.jwksFetches() - before).toBe(1);
  });

  it('refetches the JWKS on an unknown kid after the cooldown, and not before it', async () => {
    const eager = await verifierFor([{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }], 0);
    const limited = await verifierFor([{ issuer: issuer.issuer, jwksUri: issuer.jwksUri }], 60_000);
    expect((await eager.verify(await issuer.mint())).ok).toBe(true);
    expect((await limited.verify(await issuer.mint())).ok).toBe(true);
    await issuer.rotate();
    const fetchesBefore = issuer.jwksFetches();
    expect((await eager.verify(await issuer.mint())).ok).toBe(true);
    expect(await limited.verify(await issuer.mint())).toMatchObject({ ok: false, code: 'token.unknown-key' });
    expect(issuer.jwksFetches() - fetchesBefore).toBe(1);
  });

  it('verifies against a static jwks_file without any network access', async () => {
    const offline = await startTestIssuer(AUDIENCE);
    await offline.close();
    const file = path.join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [offline.publicJwk] }));
    const verifier = await verifierFor([{ issuer: offline.issuer, audience: AUDIENCE, jwksFile: file }]);
    expect(await verifier.verify(await offline.mint())).toMatchObject({ ok: true, issuer: offline.issuer });
    expect(await verifier.verify(await offline.mint({}, { forge: true }))).toMatchObject({
      ok: false,
      code: 'token.signature',
    });
  });

  it('refuses to start from an unreadable jwks_file with a message naming the file', async () => {
    await expect(verifierFor([{ issuer: issuer.issuer, jwksFile: path.join(dir, 'missing.json') }])).rejects.toThrow(
      /missing\.json.*JWKS/,
    );
  });

  it('answers issuer.unreachable when the issuer keys cannot be fetched', async () => {
    const gone = await startTestIssuer(AUDIENCE);
    await gone.close();
    const verifier = await verifierFor([{ issuer: gone.issuer, audience: AUDIENCE }]);
    expect(await verifier.verify(await gone.mint())).toMatchObject({ ok: false, code: 'issuer.unreachable' });
  });

  it('keeps one dev key in the store and verifies the tokens it mints', async () => {
    const first = await loadDevIssuerKey(store);
    const second = await loadDevIssuerKey(store);
    expect(second.kid).toBe(first.kid);
    expect(first.publicJwk).not.toHaveProperty('d');
    const issuers = await createTrustedIssuers([{ issuer: 'dev' }], { store, publicUrl: AUDIENCE });
    const verifier = createTokenVerifier({ issuers, store, clock: systemClock });
    const token = await mintDevToken(first, AUDIENCE, { ref: 'refs/heads/dev' }, systemClock);
    expect(await verifier.verify(token)).toMatchObject({
      ok: true,
      issuer: DEV_ISSUER,
      claims: { ref: 'refs/heads/dev', repository: 'acme/app' },
    });
  });
});
