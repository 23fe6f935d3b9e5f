import http from 'node:http';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../gateway/config/load-config.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { Store } from '../../../gateway/store/store.ts';
import { createApprovalsRuntime, type ApprovalsRuntime } from '../../../gateway/approvals/approvals-runtime.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';

let database: TestDatabase | undefined;
let store: Store;
let runtime: ApprovalsRuntime;
let server: http.Server;
let base: string;

beforeAll(async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const config = parseConfig(stringify({
    connections: { 'app-db': { type: 'postgres', url: 'postgres://app@127.0.0.1:5432/app' } },
    approvals: { secret: 'shared' },
    app: { app_id: 12345, private_key: privateKey, webhook_secret: 'hook-secret' },
  }), '/tmp/gatehouse-approvals-runtime.yaml');
  if (usingRealServer()) database = await createTestDatabase('SELECT 1');
  store = await createStore(database?.url ?? 'memory://');
  runtime = await createApprovalsRuntime({ config, store, clock: systemClock, appLogLevel: 'fatal' });
  server = http.createServer((req, res) => void runtime.extraRoutes(req, res).then((done) => { if (!done) res.writeHead(404).end('unhandled'); }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  runtime.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  await database?.drop();
});

describe('approvals runtime of gatehouse serve', () => {
  it('runs the GitHub App in-process when app credentials are configured', async () => {
    expect(runtime.appEmbedded).toBe(true);
    const body = JSON.stringify({ action: 'created' });
    const sign = (secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const deliver = (secret: string) => fetch(`${base}/api/github/webhooks`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': 'p-1', 'x-hub-signature-256': sign(secret) },
    });
    const forged = await deliver('wrong');
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(await forged.text()).not.toBe('unhandled');
    expect((await deliver('hook-secret')).status).toBe(200);
  });

  it('serves the gateway routes and leaves other paths to the HTTP app', async () => {
    expect((await fetch(`${base}/v1/approvals/apr_missing`)).status).toBe(404);
    expect(await (await fetch(`${base}/gatehouse/approvals`, { method: 'POST', body: '{}' })).json()).toMatchObject({ message: expect.stringContaining('missing') });
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('unhandled');
  });
});
