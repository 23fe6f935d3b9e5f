import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHttpHarness, type HttpHarness } from './http-harness.ts';

let h: HttpHarness;
beforeAll(async () => {
  h = await startHttpHarness();
});
afterAll(() => h.close());

const tunnelUrl = (connection: string) => `${h.url.replace('http', 'ws')}/v1/tunnel/${connection}`;

/** Opens a tunnel; resolves with the socket once open, or with the refused HTTP status and error code. */
function open(
  connection: string,
  headers: Record<string, string>,
): Promise<{ ws: WebSocket } | { status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(tunnelUrl(connection), { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code }),
      );
    });
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
}

describe('tunnel upgrade', () => {
  it('carries bytes both ways to the connection handler with the session context', async () => {
    const session = await h.grant();
    const result = await open('app-db', { authorization: `Bearer ${session.token}` });
    if (!('ws' in result)) throw new Error(`refused: ${JSON.stringify(result)}`);
    const reply = nextMessage(result.ws);
    result.ws.send(Buffer.from('ping through the tunnel'));
    expect(await reply).toBe('ping through the tunnel');
    expect(h.tunnels.at(-1)).toMatchObject({
      connection: 'app-db',
      session: { sessionId: session.id, connections: ['app-db'] },
    });
    result.ws.close();
  });

  it('refuses a tunnel without a bearer, with an unknown token, or to a connection the session was not granted', async () => {
    const session = await h.grant();
    expect(await open('app-db', {})).toEqual({ status: 401, code: 'auth.required' });
    expect(await open('app-db', { authorization: 'Bearer gwh_not-a-session' })).toEqual({
      status: 401,
      code: 'auth.invalid',
    });
    expect(await open('other-db', { authorization: `Bearer ${session.token}` })).toEqual({
      status: 403,
      code: 'connection.not-granted',
    });
    expect(await open('a%2Fb', { authorization: `Bearer ${session.token}` })).toEqual({
      status: 404,
      code: 'tunnel.not-found',
    });
  });

  it('closes a live tunnel with a clear reason when its session is deleted, and refuses new ones', async () => {
    const session = await h.grant();
    const result = await open('app-db', { authorization: `Bearer ${session.token}` });
    if (!('ws' in result)) throw new Error('refused');
    const closed = new Promise<[number, string]>((resolve) =>
      result.ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    await fetch(`${h.url}/v1/sessions/${session.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session.token}` },
    });
    expect(await closed).toEqual([4401, 'gatehouse: session disconnect']);
    expect(await open('app-db', { authorization: `Bearer ${session.token}` })).toEqual({
      status: 401,
      code: 'auth.invalid',
    });
  });

  it('refuses a tunnel for a session past its expiry', async () => {
    const session = await h.grant();
    h.setClockOffset(16 * 60_000);
    try {
      expect(await open('app-db', { authorization: `Bearer ${session.token}` })).toEqual({
        status: 401,
        code: 'auth.invalid',
      });
    } finally {
      h.setClockOffset(0);
    }
  });

  it('answers malformed upgrade requests with an HTTP 4xx and keeps serving', async () => {
    const port = Number(new URL(h.url).port);
    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
        let data = '';
        socket.on('data', (chunk) => (data += chunk));
        socket.on('error', () => resolve(data));
        socket.on('close', () => resolve(data));
        setTimeout(() => socket.destroy(), 3000).unref();
      });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/tunnel/app-db', '/v1/tunnel/', '/v1/tunnel/%zz', '/elsewhere', '/v1/tunnel/a/b'),
        fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
        async (target, auth) => {
          const reply = await raw(
            `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: ${auth}\r\n\r\n`,
          );
          expect(reply).toMatch(/^HTTP\/1\.1 4\d\d /);
        },
      ),
      { numRuns: 30 },
    );
    const session = await h.grant();
    const missingKey = await raw(
      `GET /v1/tunnel/app-db HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer ${session.token}\r\n\r\n`,
    );
    expect(missingKey).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
