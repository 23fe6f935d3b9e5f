import { describe, expect, it } from 'vitest';
import { apiError, createGatewayApi } from '../../../actions/src/gateway-api.ts';

const answer = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });

describe('gateway API client', () => {
  it('retries the version probe with doubling backoff while the gateway answers 503, then succeeds', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const api = createGatewayApi({
      baseUrl: new URL('http://gw.test/'),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      fetch: async () => (++calls < 3 ? answer(503, undefined) : answer(200, { version: '1.2.3' })),
    });
    await expect(api.version()).resolves.toEqual({ version: '1.2.3', client: { url: '/v1/client/connect.mjs' } });
    expect(sleeps).toEqual([250, 500]);
  });

  it("takes the client bundle's digest from the client route when /v1/version does not announce one", async () => {
    const digest = 'a'.repeat(64);
    const api = createGatewayApi({
      baseUrl: new URL('http://gw.test/'),
      fetch: async (input, init) =>
        init?.method === 'HEAD' && String(input) === 'http://gw.test/v1/client/connect.mjs'
          ? new Response(null, { status: 200, headers: { 'x-content-sha256': digest } })
          : answer(200, { version: '1.2.3' }),
    });
    await expect(api.version()).resolves.toEqual({
      version: '1.2.3',
      client: { url: '/v1/client/connect.mjs', sha256: digest },
    });
  });

  it('posts the session request exactly once, because the OIDC token is single-use', async () => {
    let calls = 0;
    const api = createGatewayApi({
      baseUrl: new URL('http://gw.test/'),
      sleep: async () => {},
      fetch: async () => {
        calls += 1;
        return answer(503, undefined);
      },
    });
    await expect(api.createSession({ token: 'jwt' })).rejects.toThrow(/answered 503 while opening a session/);
    expect(calls).toBe(1);
  });

  it('names the audience fix for a rejected token and the identity-rule fix for a denial', () => {
    expect(
      apiError(
        401,
        { error: { code: 'token.audience', message: 'aud does not match' } },
        'http://gw',
        'opening a session',
      ).message,
    ).toMatch(/'audience' input/);
    expect(
      apiError(401, { error: { code: 'token.replayed', message: 'jti used' } }, 'http://gw', 'opening a session')
        .message,
    ).toMatch(/do not reuse a token/);
    expect(
      apiError(
        403,
        { error: { code: 'connection.not-granted', message: 'rule r does not grant x' } },
        'http://gw',
        'opening a session',
      ).code,
    ).toBe('connection-not-granted');
    const denial = apiError(
      403,
      {
        error: {
          code: 'denied',
          message: 'No identity rule matches',
          rules: [
            { rule: 'r1', failed_claims: ['ref'] },
            { rule: 'r2', failed_claims: [] },
          ],
        },
      },
      'http://gw',
      'opening a session',
    );
    expect(denial.code).toBe('session-denied');
    expect(denial.message).toContain("'r1' (failed claims: ref); 'r2' (failed claims: none named)");
  });

  it('treats an already ended session as gone when deleting it', async () => {
    const api = createGatewayApi({
      baseUrl: new URL('http://gw.test/'),
      fetch: async () => answer(404, { error: { code: 'not-found', message: 'no session' } }),
    });
    await expect(api.deleteSession('s', 't')).resolves.toEqual({ status: 'already-gone', finalHash: null });
  });

  it("takes the session's final audit hash from the DELETE answer, and none from an older gateway or a bad value", async () => {
    const hash = 'ab'.repeat(32);
    const bodies = [
      { id: 's', ended: true, end_reason: 'disconnect', final_hash: hash },
      { id: 's', ended: true, end_reason: 'disconnect' },
      { id: 's', ended: true, final_hash: '<script>' },
    ];
    const outcomes = [];
    for (const body of bodies) {
      const api = createGatewayApi({ baseUrl: new URL('http://gw.test/'), fetch: async () => answer(200, body) });
      outcomes.push(await api.deleteSession('s', 't'));
    }
    expect(outcomes).toEqual([
      { status: 'ended', finalHash: hash },
      { status: 'ended', finalHash: null },
      { status: 'ended', finalHash: null },
    ]);
  });

  it('refuses a session answer without a token instead of guessing', async () => {
    const api = createGatewayApi({
      baseUrl: new URL('http://gw.test/'),
      fetch: async () => answer(201, { id: 's', connections: [] }),
    });
    await expect(api.createSession({ token: 'jwt' })).rejects.toThrow(/without a session id, token/);
  });
});

describe('gateway API client session log', () => {
  it('reads a session that has no log yet as a session without statements', async () => {
    const api = createGatewayApi({
      baseUrl: new URL('http://gw.test/'),
      fetch: async () => answer(404, { error: { code: 'audit.no-log', message: 'no log yet' } }),
    });
    await expect(api.sessionLog('s', 't')).resolves.toEqual({ events: [] });
  });
});
