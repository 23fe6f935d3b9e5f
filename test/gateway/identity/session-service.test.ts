import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseConfig } from '../../../gateway/config/config-types.ts';
import { createTrustedIssuers } from '../../../gateway/identity/issuers.ts';
import type { IdentityRuleSpec } from '../../../gateway/policy/policy-types.ts';
import { createSessionService, type SessionService } from '../../../gateway/identity/session-service.ts';
import { hashSessionToken } from '../../../gateway/identity/session-token.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { Store } from '../../../gateway/store/store.ts';
import { startTestIssuer, type TestIssuer } from '../../support/test-issuer.ts';

const AUDIENCE = 'https://gatehouse.test';
const config: Pick<GatehouseConfig, 'connections' | 'staticTokens'> = {
  connections: {
    'app-db': { type: 'postgres', name: 'app-db', url: 'postgres://u@h/db', sslmode: 'disable', audit: 'required' },
    'analytics-db': {
      type: 'postgres',
      name: 'analytics-db',
      url: 'postgres://u@h/a',
      sslmode: 'disable',
      audit: 'required',
    },
    'deploy-host': {
      type: 'ssh',
      name: 'deploy-host',
      host: 'h',
      port: 22,
      user: 'u',
      hostKey: 'SHA256:x',
      audit: 'required',
    },
  },
  staticTokens: [
    { name: 'local', token: 'static-token-for-tests-0123', connections: ['app-db'], claims: { actor: 'dev' } },
  ],
};
const identities: IdentityRuleSpec[] = [
  {
    name: 'main-deploys',
    claims: { repository: 'acme/app', ref: 'refs/heads/main' },
    repository_id: '123456',
    connections: ['app-db', 'deploy-*'],
    max_ttl: '10m',
  },
  {
    name: 'release-reads',
    claims: { repository: 'acme/app', ref: 'refs/heads/release/*' },
    connections: ['analytics-db'],
  },
];

let issuer: TestIssuer;
let store: Store;
let dir: string;
let service: SessionService;
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
const logs: { event: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  issuer = await startTestIssuer(AUDIENCE);
  dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-sessions-'));
  store = await createStore(path.join(dir, 'store'));
  const issuers = await createTrustedIssuers([{ issuer: issuer.issuer, audience: AUDIENCE }], {
    store,
    publicUrl: AUDIENCE,
  });
  service = createSessionService({
    store,
    policy: { identities },
    issuers,
    clock,
    config,
    log: (event, data) => logs.push({ event, data }),
  });
});
afterAll(async () => {
  service.close();
  await issuer.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function exchange(token: string, extra: Record<string, unknown> = {}) {
  return service.exchange({ token, ...extra }, { ip: '127.0.0.1' });
}

describe('session exchange', () => {
  it('grants a session with an opaque prefixed token, the rule connections and the rule TTL cap', async () => {
    const result = await exchange(await issuer.mint());
    if (!result.ok) throw new Error(JSON.stringify(result));
    expect(result.grant.token).toMatch(/^gwh_[A-Za-z0-9_-]{43}$/);
    expect(result.grant.connections.map((c) => c.name)).toEqual(['app-db', 'deploy-host']);
    expect(result.grant.connections[1]).toMatchObject({ type: 'ssh', tunnel: '/v1/tunnel/deploy-host' });
    const ttl = Date.parse(result.grant.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000 + 1000);
    const stored = await store.getSession(result.grant.id);
    expect(stored?.tokenHash).toBe(hashSessionToken(result.grant.token));
    expect(JSON.stringify(stored)).not.toContain(result.grant.token);
    expect(stored?.claims).toMatchObject({
      repository: 'acme/app',
      run_id: expect.any(String),
      sha: expect.any(String),
      actor: 'octocat',
    });
  });

  it('caps the TTL at the requested value when it is shorter than the rule cap', async () => {
    const result = await exchange(await issuer.mint(), { ttl: '2m' });
    if (!result.ok) throw new Error(JSON.stringify(result));
    expect(Date.parse(result.grant.expires_at) - Date.now()).toBeLessThanOrEqual(120_000 + 1000);
  });

  it('narrows the grant to the requested connections and refuses ones the rule does not grant', async () => {
    const narrowed = await exchange(await issuer.mint(), { connections: ['app-db'] });
    expect(narrowed.ok && narrowed.grant.connections.map((c) => c.name)).toEqual(['app-db']);
    const all = await exchange(await issuer.mint(), { connections: [] });
    expect(all.ok && all.grant.connections.map((c) => c.name)).toEqual(['app-db', 'deploy-host']);
    const refused = await exchange(await issuer.mint(), { connections: ['analytics-db'] });
    expect(refused).toMatchObject({ ok: false, status: 403, error: { code: 'connection.not-granted' } });
  });

  it.each([
    ['an expired token', { exp: -120, iat: -400, nbf: -400 }, 'token.expired'],
    ['a token not valid yet', { nbf: 600, iat: 0 }, 'token.not-yet-valid'],
    ['a token issued in the future', { iat: 600, nbf: 0 }, 'token.not-yet-valid'],
    ['a wrong audience', { aud: 'https://other.example' }, 'token.audience'],
    ['a wrong issuer', { iss: 'https://evil.example' }, 'token.issuer'],
    ['a forged signature', { forge: true }, 'token.signature'],
    ['an unknown kid', { kid: 'rotated-away' }, 'token.unknown-key'],
    ['a token without jti', { omit: ['jti'] }, 'token.claims'],
  ])('refuses %s with 401', async (_name, overrides, code) => {
    const result = await exchange(await issuer.mint({}, overrides));
    expect(result).toMatchObject({ ok: false, status: 401, error: { code } });
  });

  it('accepts nbf and iat up to 60 seconds ahead for clock skew', async () => {
    const result = await exchange(await issuer.mint({}, { nbf: 45, iat: 45 }));
    expect(result.ok).toBe(true);
  });

  it('refuses alg none and HS256 signed with the public key as disallowed algorithms', async () => {
    expect(await exchange(issuer.mintUnsigned())).toMatchObject({
      ok: false,
      status: 401,
      error: { code: 'token.algorithm' },
    });
    expect(await exchange(await issuer.mintHmacWithPublicKey())).toMatchObject({
      ok: false,
      status: 401,
      error: { code: 'token.algorithm' },
    });
  });

  it('refuses a replayed jti', async () => {
    const token = await issuer.mint();
    expect((await exchange(token)).ok).toBe(true);
    expect(await exchange(token)).toMatchObject({ ok: false, status: 401, error: { code: 'token.replayed' } });
  });

  it.each([
    ['not an object', 'token'],
    ['no token', {}],
    ['a number token', { token: 5 }],
    ['unknown fields', { token: 'x', admin: true }],
    ['a bad ttl', { token: 'x', ttl: 'forever' }],
    ['bad connections', { token: 'x', connections: 'app-db' }],
  ])('answers 400 to a body with %s', async (_name, body) => {
    expect(await service.exchange(body, { ip: '127.0.0.1' })).toMatchObject({
      ok: false,
      status: 400,
      error: { code: 'request.invalid' },
    });
  });

  it('answers 401 malformed to a token that is not a JWT', async () => {
    expect(await exchange('not.a.jwt')).toMatchObject({ ok: false, status: 401, error: { code: 'token.malformed' } });
  });

  it('denies claims matching no rule with 403 naming the rules and failed claim names but not their values', async () => {
    logs.length = 0;
    const result = await exchange(await issuer.mint({ repository: 'acme/app', ref: 'refs/heads/feature-secret-x' }));
    expect(result).toMatchObject({
      ok: false,
      status: 403,
      error: {
        code: 'identity.no-rule-matched',
        rules: [
          { rule: 'main-deploys', failed_claims: ['ref'] },
          { rule: 'release-reads', failed_claims: ['ref'] },
        ],
      },
    });
    expect(!result.ok && result.error.hint).toContain('refs/heads');
    expect(JSON.stringify(result)).not.toContain('feature-secret-x');
    expect(JSON.stringify(logs.find((l) => l.event === 'session.denied'))).toContain('feature-secret-x');
  });
});

describe('session lifecycle', () => {
  it('authenticates a granted token and stops after revoke, telling listeners why', async () => {
    const ended: [string, string][] = [];
    const stop = service.onEnded((id, reason) => ended.push([id, reason]));
    const result = await exchange(await issuer.mint());
    if (!result.ok) throw new Error('exchange failed');
    const context = await service.authenticate(result.grant.token);
    expect(context).toMatchObject({
      sessionId: result.grant.id,
      connections: ['app-db', 'deploy-host'],
      identity: { identityRule: 'main-deploys' },
    });
    expect(await service.revoke(result.grant.id, 'revoked')).toBe(true);
    expect(await service.authenticate(result.grant.token)).toBeNull();
    expect(await service.revoke(result.grant.id, 'revoked')).toBe(false);
    expect(ended).toEqual([[result.grant.id, 'revoked']]);
    stop();
  });

  it('stops authenticating a session once the clock passes its expiry', async () => {
    const result = await exchange(await issuer.mint());
    if (!result.ok) throw new Error('exchange failed');
    offsetMs = 11 * 60_000;
    try {
      expect(await service.authenticate(result.grant.token)).toBeNull();
    } finally {
      offsetMs = 0;
    }
    expect(await service.authenticate(result.grant.token)).not.toBeNull();
  });

  it('ends a session with reason expired when its expiry timer fires', async () => {
    const short = createSessionService({
      store,
      policy: { identities: [{ name: 'short', claims: { repository: 'acme/app' }, max_ttl: '1s' }] },
      issuers: await createTrustedIssuers([{ issuer: issuer.issuer, audience: AUDIENCE }], {
        store,
        publicUrl: AUDIENCE,
      }),
      clock,
      config,
    });
    const ended = new Promise<[string, string]>((resolve) => short.onEnded((id, reason) => resolve([id, reason])));
    const result = await short.exchange({ token: await issuer.mint() }, { ip: '127.0.0.1' });
    if (!result.ok) throw new Error('exchange failed');
    expect(await ended).toEqual([result.grant.id, 'expired']);
    expect((await store.getSession(result.grant.id))?.endReason).toBe('expired');
    short.close();
  });

  it('refuses to start on an invalid identity rule and answers 500 when a reloaded policy breaks one', async () => {
    const issuers = await createTrustedIssuers([{ issuer: issuer.issuer, audience: AUDIENCE }], {
      store,
      publicUrl: AUDIENCE,
    });
    expect(() =>
      createSessionService({
        store,
        policy: { identities: [{ name: 'bad', claims: { ref: '/(/' } }] },
        issuers,
        clock,
        config,
      }),
    ).toThrow(/bad.*regular expression/);
    const policy: { identities: IdentityRuleSpec[] } = { identities };
    const reloadable = createSessionService({ store, policy, issuers, clock, config });
    policy.identities = [{ name: 'broken', claims: { ref: '/(/' } }];
    expect(await reloadable.exchange({ token: await issuer.mint() }, { ip: '127.0.0.1' })).toMatchObject({
      ok: false,
      status: 500,
      error: { code: 'policy.identity-invalid' },
    });
    reloadable.close();
  });

  it('accepts configured static tokens as sessions named static-<name>', async () => {
    expect(await service.authenticate('static-token-for-tests-0123')).toMatchObject({
      sessionId: 'static-local',
      connections: ['app-db'],
    });
    expect(await service.authenticate('static-token-for-tests-0124')).toBeNull();
    expect(await service.authenticate('gwh_unknown')).toBeNull();
  });
});
