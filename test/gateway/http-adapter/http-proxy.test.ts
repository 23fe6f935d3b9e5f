import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ProxyEnforcer } from '../../../gateway/http-adapter/exchange.ts';
import { createHttpProxy, type HttpProxy } from '../../../gateway/http-adapter/http-proxy.ts';
import { compileJsonPath } from '../../../gateway/policy/json-path.ts';
import {
  DEFAULT_HTTP_LIMITS,
  type ExchangeOutcome,
  type ProxiedRequest,
} from '../../../gateway/http-adapter/proxy-types.ts';
import { createUpstreamTarget } from '../../../gateway/http-adapter/upstream.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import { LEAKED_TOKEN, startHttpTarget, type HttpTestTarget } from '../../support/http-target.ts';

const run = promisify(execFile);
const GATEWAY_TOKEN = 'gw-secret-token-123';

let target: HttpTestTarget;
let proxy: HttpProxy<string>;
let front: net.Server;
let base: string;
let port: number;
const outcomes: ExchangeOutcome[] = [];
const seen: ProxiedRequest[] = [];

const enforcer: ProxyEnforcer<ProxiedRequest, string> = {
  enforce(_client, derived) {
    const request = derived.action;
    seen.push(request);
    if (request.method === 'DELETE')
      return {
        allowed: false,
        code: 'denied',
        message: 'gatehouse: denied by rule "no-deletes": no',
        decision: { rule: 'no-deletes', reason: 'no' },
      };
    return { allowed: true, decision: { rule: 'allow-all', reason: 'ok' } };
  },
  recordOutcome: (_client, _derived, outcome) => void outcomes.push(outcome),
};

beforeAll(async () => {
  target = await startHttpTarget();
  proxy = createHttpProxy<ProxiedRequest, string>({
    connection: {
      upstream: createUpstreamTarget({ url: target.url, credential: { type: 'bearer', token: GATEWAY_TOKEN } }),
      masking: {
        fields: [{ path: '$.user.password', test: compileJsonPath('$.user.password'), keepLast: 0 }],
        detectors: createContentMasker({ detectors: ['github_token'] }),
        passes: () => false,
      },
      limits: {
        ...DEFAULT_HTTP_LIMITS,
        maxBodyBytes: 1024 * 1024,
        gatherBodyBytes: 64 * 1024,
        deadlines: { headersMs: 500, bodyMs: 500, idleMs: 5000 },
      },
    },
    hooks: {
      deriveAction: (request) => ({
        ok: true,
        value: { action: request, text: `${request.method} ${request.target.path}`, shown: request.method, event: {} },
      }),
    },
    enforcer,
    log: () => {},
  });
  front = net.createServer((socket) => proxy.accept(socket, 'job'));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  port = (front.address() as net.AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  proxy.close();
  await new Promise((resolve) => front.close(resolve));
  await target.close();
});

function raw(bytes: string, waitMs = 400): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('close', () => resolve(out));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), waitMs);
  });
}

describe('HTTP proxy', () => {
  it('injects the connection credential and strips the client one (the target log proves it)', async () => {
    const response = await fetch(`${base}/anything?x=1`, {
      headers: { authorization: 'Bearer local', cookie: 'a=b', 'x-forwarded-for': '6.6.6.6' },
    });
    expect(response.status).toBe(200);
    const logged = target.requests.at(-1)!;
    expect(logged.url).toBe('/anything?x=1');
    expect(logged.headers.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`);
    expect(logged.headers.cookie).toBeUndefined();
    expect(logged.headers['x-forwarded-for']).toBeUndefined();
    expect(logged.headers.host).toBe(`127.0.0.1:${target.port}`);
  });

  it('never passes the target cookies or challenges to the client', async () => {
    const response = await fetch(`${base}/cookie`);
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('www-authenticate')).toBeNull();
  });

  it('answers a denied request with 403 and a JSON body naming the rule', async () => {
    const response = await fetch(`${base}/items/1`, { method: 'DELETE' });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { code: string; rule: string; message: string } };
    expect(body.error).toMatchObject({ code: 'policy.denied', rule: 'no-deletes' });
    expect(target.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });

  it('masks a JSON field and a detected token, with curl', async () => {
    const { stdout } = await run('curl', ['-sS', `${base}/json`]);
    expect(JSON.parse(stdout)).toEqual({ user: { name: 'ada', password: '****', token: '****' }, ok: true });
    expect(outcomes.at(-1)?.masked).toEqual({ fields: 1, detected: 1 });
  });

  it('masks a token in text, and in a gzip body it decodes', async () => {
    expect(await (await fetch(`${base}/text`)).text()).toBe('deploy key: ****\nbye\n');
    const { stdout } = await run('curl', ['-sS', '--compressed', `${base}/gzip`]);
    expect(JSON.parse(stdout)).toEqual({ note: 'token ****', password: 'p@ss' });
  });

  it('streams a chunked body and server-sent events as they come', async () => {
    const chunked = await run('curl', ['-sSN', `${base}/chunked`]);
    expect(chunked.stdout).toBe('chunk 0 \nchunk 1 \nchunk 2 ****\nchunk 3 \n');
    const response = await fetch(`${base}/sse`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"n":0');
    let rest = '';
    for (let part = await reader.read(); !part.done; part = await reader.read())
      rest += new TextDecoder().decode(part.value);
    expect(rest).toContain('"secret":"****"');
    expect(rest).not.toContain(LEAKED_TOKEN);
  });

  it('refuses a binary body no rule passes with 502', async () => {
    const response = await fetch(`${base}/binary`);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('http.response-unmaskable');
  });

  it('gives policy the fields of a JSON body', async () => {
    const response = await fetch(`${base}/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ force: true }),
    });
    expect(response.status).toBe(201);
    expect(seen.at(-1)?.body).toEqual({ kind: 'json', value: { force: true } });
    expect(target.requests.at(-1)?.body).toBe('{"force":true}');
  });

  it.each([
    [
      'a duplicate Content-Length',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'http.framing',
    ],
    [
      'Transfer-Encoding with Content-Length',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'http.framing',
    ],
    [
      'Transfer-Encoding gzip, chunked',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
      'http.framing',
    ],
    ['an obs-fold header', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n', 'http.header-syntax'],
    [
      'a bad chunk size',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
      'http.chunk',
    ],
    ['HTTP/2 prior knowledge', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'http.http2-prior-knowledge'],
    ['CONNECT', 'CONNECT evil:443 HTTP/1.1\r\nHost: evil:443\r\n\r\n', 'http.connect'],
    [
      'an h2c upgrade',
      'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AA\r\n\r\n',
      'http.upgrade',
    ],
    ['a traversal', 'GET /a/%2e%2e/admin HTTP/1.1\r\nHost: a\r\n\r\n', 'http.path-traversal'],
    ['an encoded slash', 'GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n', 'http.path-encoded-slash'],
    ['an absolute target', 'GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n', 'http.target-form'],
    ['an oversized head', `GET / HTTP/1.1\r\nHost: a\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`, 'http.header-too-large'],
  ])('refuses %s on a raw socket with a JSON error', async (_name, bytes, code) => {
    const before = target.requests.length;
    const out = await raw(bytes);
    expect(out).toMatch(/^HTTP\/1\.1 (4|5)\d\d /);
    expect(out).toContain(`"code":"${code}"`);
    expect(target.requests.length).toBe(before);
  });

  it('closes a slow client with 408 while another stream goes on', async () => {
    const slow = raw('GET /json HTTP/1.1\r\nHost: a\r\n', 1500);
    const other = await fetch(`${base}/small`);
    expect(await other.json()).toEqual({ ok: true });
    const out = await slow;
    expect(out).toMatch(/^HTTP\/1\.1 408 /);
    expect(out).toContain('http.headers-timeout');
  });

  it('refuses a body over the limit, announced or streamed, with 413', async () => {
    const announced = await raw('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n');
    expect(announced).toMatch(/^HTTP\/1\.1 413 /);
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-http-')), 'big.txt');
    writeFileSync(file, 'x'.repeat(2 * 1024 * 1024));
    const curl = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Transfer-Encoding: chunked'];
    const { stdout } = await run('curl', [
      ...curl,
      '-H',
      'Content-Type: text/plain',
      '--data-binary',
      `@${file}`,
      `${base}/up`,
    ]).catch((error: { stdout: string }) => error);
    expect(stdout).toBe('413');
    expect(target.requests.some((r) => r.url === '/up')).toBe(false);
  });

  it('forwards a JSON body larger than the gathering limit whole, and calls it unreadable to policy', async () => {
    const big = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => i) });
    expect(big.length).toBeGreaterThan(64 * 1024);
    const response = await fetch(`${base}/bulk`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(response.status).toBe(200);
    expect(target.requests.at(-1)?.body).toBe(big);
    expect(seen.at(-1)?.body).toMatchObject({ kind: 'unreadable', reason: expect.stringContaining('larger than') });
  });

  it('answers HEAD without a body and speaks HTTP/1.0 to an old client', async () => {
    const head = await run('curl', ['-sSI', `${base}/json`]);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    const old = await raw('GET /small HTTP/1.0\r\n\r\n');
    expect(old).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n\{"ok":true\}$/);
  });

  it('keeps a redirect into the target on the proxy', async () => {
    const response = await fetch(`${base}/redirect`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/json');
  });

  it('relays a WebSocket echo and masks the target messages', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { authorization: 'Bearer local' } });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        ws.send('hello');
        ws.send('leak');
      });
      ws.on('message', (data) => {
        messages.push(data.toString());
        if (messages.length === 2) resolve();
      });
      ws.once('error', reject);
    });
    ws.close();
    expect(messages).toEqual(['echo: hello', 'echo: leak ****']);
    const upgrade = target.requests.at(-1)!;
    expect(upgrade.url).toBe('/socket');
    expect(upgrade.headers.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`);
  });
});
