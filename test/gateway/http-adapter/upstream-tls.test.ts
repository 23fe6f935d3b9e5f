import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpProxy, type HttpProxy } from '../../../gateway/http-adapter/http-proxy.ts';
import { DEFAULT_HTTP_LIMITS } from '../../../gateway/http-adapter/proxy-types.ts';
import { createUpstreamTarget, type TargetTls } from '../../../gateway/http-adapter/upstream.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import { createTestPki, type TestPki } from '../../support/tls-certs.ts';

let pki: TestPki;
let server: https.Server;
let targetUrl: string;
const opened: Array<{ proxy: HttpProxy<string>; front: net.Server }> = [];

beforeAll(async () => {
  pki = createTestPki();
  server = https.createServer(
    { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ client: peer?.subject?.CN ?? null, authorized: (req.socket as TLSSocket).authorized }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  targetUrl = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  for (const { proxy, front } of opened) {
    proxy.close();
    front.close();
  }
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function through(tls: TargetTls): Promise<Response> {
  const proxy = createHttpProxy<null, string>({
    connection: {
      upstream: createUpstreamTarget({ url: targetUrl, credential: { type: 'none' }, tls }),
      masking: { fields: [], detectors: createContentMasker({ detectors: [] }), passes: () => false },
      limits: DEFAULT_HTTP_LIMITS,
    },
    hooks: { deriveAction: () => ({ ok: true, value: { action: null, text: '', shown: '', event: {} } }) },
    enforcer: { enforce: () => ({ allowed: true, decision: { rule: 'r', reason: 'r' } }), recordOutcome: () => {} },
    log: () => {},
  });
  const front = net.createServer((socket) => proxy.accept(socket, 'job'));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  opened.push({ proxy, front });
  return fetch(`http://127.0.0.1:${(front.address() as net.AddressInfo).port}/`);
}

describe('upstream TLS', () => {
  it('verifies the target with the configured CA and presents the client certificate', async () => {
    const response = await through({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, verify: true });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client: 'gatehouse-gateway', authorized: true });
  });

  it('refuses a target it cannot verify with 502, naming why', async () => {
    const response = await through({ verify: true });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('http.target-unreachable');
    expect(body.error.message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it('skips verification only when verify is false', async () => {
    const response = await through({ verify: false });
    expect(await response.json()).toEqual({ client: null, authorized: false });
  });
});
