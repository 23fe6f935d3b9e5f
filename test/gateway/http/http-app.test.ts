import net from 'node:net';
import fc from 'fast-check';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpHarness, type HttpHarness } from './http-harness.ts';

let h: HttpHarness;
const extraCalls: string[] = [];

beforeAll(async () => {
  h = await startHttpHarness({
    getSessionLog: async (id) => ({ sessionId: id, entries: [] }),
    finalHash: async (id) => `${id.length % 10}`.repeat(64),
    extraRoutes: async (req, res) => {
      extraCalls.push(`${req.method} ${req.url}`);
      if (!req.url?.startsWith('/v1/approvals/')) return false;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"handled":true}');
      return true;
    },
  });
});
afterAll(() => h.close());

const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${h.url}/v1/sessions`, { method: 'POST', headers, body });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).not.toMatch(/\n\s+at /);
  return body;
}

describe('control API', () => {
  it('answers health, version and the injected metrics registry', async () => {
    new Counter({ name: 'harness_probe_total', help: 'probe', registers: [h.registry] }).inc();
    expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${h.url}/v1/version`)).json()).toEqual({ version: '0.1.0-test' });
    expect(await (await fetch(`${h.url}/metrics`)).text()).toContain('harness_probe_total 1');
  });

  it('exchanges a valid OIDC token for a session grant with 201', async () => {
    const response = await post(JSON.stringify({ token: await h.issuer.mint() }));
    expect(response.status).toBe(201);
    const grant = (await response.json()) as { id: string; token: string; expires_at: string; connections: unknown[] };
    expect(grant).toMatchObject({
      id: expect.stringMatching(/^ses_/),
      token: expect.stringMatching(/^gwh_/),
      connections: [{ name: 'app-db', type: 'postgres', tunnel: '/v1/tunnel/app-db' }],
    });
  });

  it('refuses bad bodies with JSON 4xx errors', async () => {
    await expectError(await post('{"token":'), 400, 'request.json');
    await expectError(await post('{}'), 400, 'request.invalid');
    await expectError(await post(JSON.stringify({ token: 'x'.repeat(70_000) })), 413, 'request.too-large');
    await expectError(
      await post('token=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'request.content-type',
    );
    await expectError(await fetch(`${h.url}/v1/sessions`), 405, 'request.method');
  });

  it('answers 401 for an expired token and 403 with rule and claim names for an unmatched one', async () => {
    await expectError(
      await post(JSON.stringify({ token: await h.issuer.mint({}, { exp: -120, iat: -400, nbf: -400 }) })),
      401,
      'token.expired',
    );
    const denied = (await expectError(
      await post(JSON.stringify({ token: await h.issuer.mint({ ref: 'refs/heads/dev' }) })),
      403,
      'identity.no-rule-matched',
    )) as unknown as {
      error: { rules: unknown; hint: string };
    };
    expect(denied.error.rules).toEqual([
      { rule: 'main', failed_claims: ['ref'] },
      { rule: 'ops', failed_claims: ['repository'] },
    ]);
    expect(JSON.stringify(denied)).not.toContain('refs/heads/dev');
  });

  it('shows a session to its own token only, and never the token itself', async () => {
    const mine = await h.grant();
    const other = await h.grant();
    const response = await fetch(`${h.url}/v1/sessions/${mine.id}`, { headers: bearer(mine.token) });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({
      id: mine.id,
      identity_rule: 'main',
      connections: [{ name: 'app-db', type: 'postgres', tunnel: '/v1/tunnel/app-db' }],
      claims: { repository: 'acme/app' },
    });
    expect(text).not.toContain(mine.token);
    await expectError(await fetch(`${h.url}/v1/sessions/${mine.id}`), 401, 'auth.required');
    await expectError(
      await fetch(`${h.url}/v1/sessions/${mine.id}`, { headers: { authorization: 'Basic abc' } }),
      401,
      'auth.required',
    );
    await expectError(
      await fetch(`${h.url}/v1/sessions/${mine.id}`, { headers: bearer(other.token) }),
      404,
      'session.not-found',
    );
  });

  it('refuses a session after DELETE and after its expiry', async () => {
    const session = await h.grant();
    const deleted = await fetch(`${h.url}/v1/sessions/${session.id}`, {
      method: 'DELETE',
      headers: bearer(session.token),
    });
    expect(await deleted.json()).toEqual({
      id: session.id,
      ended: true,
      end_reason: 'disconnect',
      final_hash: `${session.id.length % 10}`.repeat(64),
    });
    await expectError(
      await fetch(`${h.url}/v1/sessions/${session.id}`, { headers: bearer(session.token) }),
      401,
      'auth.invalid',
    );
    const later = await h.grant();
    h.setClockOffset(16 * 60_000);
    try {
      await expectError(
        await fetch(`${h.url}/v1/sessions/${later.id}`, { headers: bearer(later.token) }),
        401,
        'auth.invalid',
      );
    } finally {
      h.setClockOffset(0);
    }
  });

  it('serves a session log to its bearer and leaves unauthenticated log requests to the extra routes', async () => {
    const session = await h.grant();
    expect(
      await (await fetch(`${h.url}/v1/sessions/${session.id}/log`, { headers: bearer(session.token) })).json(),
    ).toEqual({ sessionId: session.id, entries: [] });
    extraCalls.length = 0;
    await expectError(await fetch(`${h.url}/v1/sessions/${session.id}/log`), 401, 'auth.required');
    expect(extraCalls).toEqual([`GET /v1/sessions/${session.id}/log`]);
  });

  it('mounts extra routes and answers unknown paths with a JSON 404', async () => {
    expect(await (await fetch(`${h.url}/v1/approvals/a1`)).json()).toEqual({ handled: true });
    await expectError(await fetch(`${h.url}/nope`), 404, 'request.not-found');
    await expectError(await fetch(`${h.url}/v1/sessions/%E0%A4%A`, { headers: bearer('gwh_x') }), 400, 'request.url');
    await expectError(await fetch(`${h.url}/v1/tunnel/app-db`), 426, 'tunnel.upgrade');
  });

  it('answers garbage that is not HTTP with a JSON 400 and keeps serving', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1', () =>
        socket.write('\x16\x03\x01 not http at all\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('close', () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toContain('request.malformed');
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('never answers a random body with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc
            .record({ token: fc.string(), ttl: fc.anything(), connections: fc.anything() })
            .map((v) => JSON.stringify(v)),
        ),
        async (body) => {
          const response = await post(body);
          await response.arrayBuffer();
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
  });
});
