import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server/gateway.ts';
import { startLocalProxy, type LocalProxy } from '../../../gateway/client/local-proxy.ts';
import type { LocalConnection } from '../../../wire/control-api.ts';
import { LEAKED_TOKEN, startHttpTarget, type HttpTestTarget } from '../../support/http-target.ts';

const run = promisify(execFile);
const API_KEY = 'gateway-held-api-key-0123456789';
const PUBLIC_URL = 'http://gatehouse.test';

const POLICY = `
identities:
  - { name: ci, claims: { repository: acme/app }, connections: [api, other-api] }
rules:
  - { name: api-reads, action: allow, connections: [api, other-api], when: { http: { method: [GET, HEAD] } }, reason: "reads" }
  - { name: api-writes, action: allow, connections: [api], when: { http: { method: [POST, PUT, PATCH], path: ["/items/**", "/echo"] } }, reason: "item writes" }
  - { name: no-deletes, action: deny, connections: [api], when: { http: { method: [DELETE] } }, reason: "deleting through CI is not allowed" }
  - name: deploys-need-review
    action: review
    connections: [api]
    when: { http: { method: [POST], path: [/deploy] } }
    reason: "deploys need a reviewer"
    review: { timeout: 1m }
  - { name: forced-deploys, action: deny, connections: [api], when: { http: { path: [/deploy], body: { "$.force": true } } }, reason: "no forced deploys" }
  - { name: sockets, action: allow, connections: [api], when: { http: { path: [/socket], upgrade: [websocket] } }, reason: "echo socket" }
masking:
  - { connections: [api, other-api], detectors: [github_token], fields: [{ path: "$.user.password" }] }
`;

let target: HttpTestTarget;
let gateway: RunningGateway;
let proxy: LocalProxy;
let api: LocalConnection;
let base: string;
let auth: Record<string, string>;

beforeAll(async () => {
  target = await startHttpTarget();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-http-e2e-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(path.join(dir, 'policies', 'http.yaml'), POLICY);
  writeFileSync(path.join(dir, 'api-key'), `${API_KEY}\n`);
  writeFileSync(
    path.join(dir, 'gatehouse.yaml'),
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      `public_url: ${PUBLIC_URL}`,
      'store: memory://',
      'policies: ./policies',
      'issuers: [{ issuer: dev }]',
      'connections:',
      '  api:',
      '    type: http',
      `    url: ${target.url}`,
      '    credential: { type: bearer, token: "${file:api-key}" }',
      '  other-api:',
      '    type: http',
      `    url: ${target.url}/other`,
      '    credential: { type: header, name: X-Api-Key, value: "${file:api-key}" }',
    ].join('\n'),
  );
  gateway = await startGateway(loadConfig(path.join(dir, 'gatehouse.yaml')), { log: () => undefined });
  const token = await mintDevToken(
    await loadDevIssuerKey(gateway.store),
    PUBLIC_URL,
    { repository: 'acme/app' },
    systemClock,
  );
  proxy = await startLocalProxy({
    gateway: gateway.httpUrl,
    credential: { oidcToken: token },
    connections: [{ name: 'api' }, { name: 'other-api' }],
  });
  api = proxy.ready.connections.find((c) => c.name === 'api')!;
  base = api.url!;
  auth = { authorization: `Bearer ${api.password}` };
}, 60_000);

afterAll(async () => {
  await proxy?.close({ endSession: true });
  await gateway?.close();
  await target?.close();
});

async function approveWhenPending(): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const pending = (await gateway.store.listPendingApprovals()).find((a) => a.connection === 'api');
    if (pending) {
      await gateway.broker.decide(pending.id, { approved: true, by: ['alice'] });
      return pending.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no approval was requested');
}

function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(api.port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('close', () => resolve(out));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), 1500);
  });
}

describe('HTTP connections through the local proxy and the gateway', () => {
  it('announces the local URL and token in the ready line', () => {
    expect(api).toMatchObject({ type: 'http', host: '127.0.0.1', url: `http://127.0.0.1:${api.port}` });
    expect(api.password).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('injects the credential and strips the client one, with curl (the target log proves it)', async () => {
    const { stdout } = await run('curl', [
      '-sS',
      '-H',
      `Authorization: Bearer ${api.password}`,
      '-H',
      'Cookie: sid=job',
      `${base}/echo?x=1`,
    ]);
    const echoed = JSON.parse(stdout) as { url: string; headers: Record<string, string> };
    expect(echoed.url).toBe('/echo?x=1');
    expect(echoed.headers.authorization).toBe('Bearer ****');
    expect(stdout).not.toContain(API_KEY);
    const logged = target.requests.at(-1)!;
    expect(logged.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(logged.headers.cookie).toBeUndefined();
    expect(JSON.stringify(logged.headers)).not.toContain(api.password!);
  });

  it('sends a named-header credential under the base path of another connection, with fetch', async () => {
    const other = proxy.ready.connections.find((c) => c.name === 'other-api')!;
    const response = await fetch(`${other.url}/things`, {
      headers: { authorization: `Bearer ${other.password}`, 'x-api-key': 'mine' },
    });
    expect(response.status).toBe(200);
    const logged = target.requests.at(-1)!;
    expect(logged.url).toBe('/other/things');
    expect(logged.headers['x-api-key']).toBe(API_KEY);
    expect(logged.headers.authorization).toBeUndefined();
  });

  it('refuses a client without the local password before anything reaches the gateway', async () => {
    const before = target.requests.length;
    const response = await fetch(`${base}/echo`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('local.auth');
    expect(target.requests.length).toBe(before);
  });

  it('denies a DELETE with 403 and a JSON body naming the rule', async () => {
    const response = await fetch(`${base}/items/7`, { method: 'DELETE', headers: auth });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { code: string; rule: string; message: string } };
    expect(body.error).toMatchObject({ code: 'policy.denied', rule: 'no-deletes' });
    expect(body.error.message).toContain('deleting through CI is not allowed');
    expect(target.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });

  it('denies what no rule allows, naming the default rule and the fix', async () => {
    const response = await fetch(`${base}/other-thing`, { method: 'PUT', headers: auth, body: 'x' });
    const body = (await response.json()) as { error: { rule: string; message: string } };
    expect(response.status).toBe(403);
    expect(body.error.rule).toBe('default-deny');
    expect(body.error.message).toContain('PUT /other-thing');
  });

  it('holds a POST until it is approved; the client just waits', async () => {
    const [response, approvalId] = await Promise.all([
      fetch(`${base}/deploy`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ version: '1.2.3' }),
      }),
      approveWhenPending(),
    ]);
    expect(response.status).toBe(201);
    expect(target.requests.at(-1)).toMatchObject({ method: 'POST', url: '/deploy', body: '{"version":"1.2.3"}' });
    await gateway.recorder.flush();
    const session = await gateway.store.listAuditEvents(proxy.ready.session_id);
    expect(session.some((e) => e.type === 'approval.decided' && e.data.approval_id === approvalId)).toBe(true);
  });

  it('denies a forced deploy by a JSON body field, without holding it', async () => {
    const response = await fetch(`${base}/deploy`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ version: '1', force: true }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { rule: string } }).error.rule).toBe('forced-deploys');
  });

  it('masks a JSON field and a detected token, and a token in text', async () => {
    const json = await run('curl', ['-sS', '-u', `ci:${api.password}`, `${base}/json`]);
    expect(JSON.parse(json.stdout)).toEqual({ user: { name: 'ada', password: '****', token: '****' }, ok: true });
    const text = await fetch(`${base}/text`, { headers: auth });
    expect(await text.text()).toBe('deploy key: ****\nbye\n');
  });

  it('streams a chunked body and server-sent events', async () => {
    const chunked = await run('curl', ['-sSN', '-H', `Authorization: Bearer ${api.password}`, `${base}/chunked`]);
    expect(chunked.stdout).toBe('chunk 0 \nchunk 1 \nchunk 2 ****\nchunk 3 \n');
    const sse = await run('curl', ['-sSN', '-H', `Authorization: Bearer ${api.password}`, `${base}/sse`]);
    expect(sse.stdout.match(/^event: tick$/gm)).toHaveLength(3);
    expect(sse.stdout).toContain('"secret":"****"');
    expect(sse.stdout).not.toContain(LEAKED_TOKEN);
  });

  it('relays an allowed WebSocket echo with masked text frames', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}/socket`, { headers: auth });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send('leak'));
      ws.on('message', (data) => {
        messages.push(data.toString());
        resolve();
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    ws.close();
    expect(messages).toEqual(['echo: leak ****']);
  });

  it('refuses a WebSocket upgrade no rule lists', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${api.port}/other-socket`, { headers: auth });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
    });
    expect(status).toBe(403);
  });

  it.each([
    [
      'a duplicate Content-Length',
      'POST /items/1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'http.framing',
    ],
    [
      'Transfer-Encoding with Content-Length',
      'POST /items/1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'http.framing',
    ],
    [
      'an obs-fold header',
      'GET /echo HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\nX-A: one\r\n two\r\n\r\n',
      'http.header-syntax',
    ],
    [
      'a dot-segment traversal',
      'GET /items/..%2f..%2fadmin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\n\r\n',
      'http.path-encoded-slash',
    ],
    [
      'a raw traversal',
      'GET /items/../admin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\n\r\n',
      'http.path-traversal',
    ],
    [
      'a double slash',
      'GET //admin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\n\r\n',
      'http.path-empty-segment',
    ],
  ])('refuses %s on a raw socket', async (_name, bytes, code) => {
    const before = target.requests.length;
    const out = await raw(bytes.replace('TOKEN', api.password!));
    expect(out).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(out).toContain(`"code":"${code}"`);
    expect(target.requests.length).toBe(before);
  });

  it('keeps other streams of the session going while one is refused', async () => {
    const [refused, served] = await Promise.all([
      raw(`GET /%2e%2e/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${api.password}\r\n\r\n`),
      fetch(`${base}/small`, { headers: auth }),
    ]);
    expect(refused).toContain('http.path-traversal');
    expect(await served.json()).toEqual({ ok: true });
  });

  it('leaves another session alone while one is refused, and closes the streams of a session when it is revoked', async () => {
    const token = await mintDevToken(
      await loadDevIssuerKey(gateway.store),
      PUBLIC_URL,
      { repository: 'acme/app' },
      systemClock,
    );
    const second = await startLocalProxy({
      gateway: gateway.httpUrl,
      credential: { oidcToken: token },
      connections: [{ name: 'api' }],
    });
    try {
      const other = second.ready.connections[0]!;
      const keptOpen = net.connect(other.port, '127.0.0.1');
      const closed = new Promise<string>((resolve) => {
        let out = '';
        keptOpen.on('data', (d) => (out += d));
        keptOpen.on('close', () => resolve(out));
      });
      keptOpen.write(`GET /small HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${other.password}\r\n\r\n`);
      const [refused, served] = await Promise.all([
        raw(
          'POST /items/1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer TOKEN\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'.replace(
            'TOKEN',
            api.password!,
          ),
        ),
        fetch(`${other.url}/small`, { headers: { authorization: `Bearer ${other.password}` } }),
      ]);
      expect(refused).toContain('http.framing');
      expect(await served.json()).toEqual({ ok: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await gateway.sessions.revoke(second.ready.session_id, 'revoked')).toBe(true);
      const transcript = await closed;
      expect(transcript).toMatch(/^HTTP\/1\.1 200 OK/);
      expect((await fetch(`${base}/small`, { headers: auth })).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('records each request and response in the session log, with masked query secrets and body hashes', async () => {
    await fetch(`${base}/echo?access_token=abc123&page=2`, { headers: auth });
    await gateway.recorder.flush();
    const events = await gateway.store.listAuditEvents(proxy.ready.session_id);
    const request = events.filter((e) => e.type === 'http.request').at(-1)!;
    expect(request.data).toMatchObject({
      method: 'GET',
      path: '/echo',
      query: 'access_token=****&page=2',
      decision: 'allow',
      rule: 'api-reads',
    });
    const response = events.filter((e) => e.type === 'http.response').at(-1)!;
    expect(response.data).toMatchObject({ status: 200, path: '/echo' });
    expect(response.data.response_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });
});
