import { createHmac, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg-target.ts';
import { startTestGateway, type GatewayUnderTest } from '../support/gateway-harness.ts';
import { signMessage } from '../../wire/approvals.ts';

let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase('SELECT 1');
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const pem = JSON.stringify(privateKey);
  gateway = await startTestGateway(db, {
    extraYaml: `approvals: { secret: shared-secret }\napp: { app_id: 12345, private_key: ${pem}, webhook_secret: hook-secret }`,
  });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

describe('the GitHub App inside gatehouse serve', () => {
  it('receives webhooks on the gateway listener and rejects a wrong signature', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const deliver = (secret: string) =>
      fetch(`${gateway.httpUrl}/api/github/webhooks`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'ping',
          'x-github-delivery': 'p-1',
          'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        },
      });
    const forged = await deliver('not-the-secret');
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    expect((await deliver('hook-secret')).status).toBe(200);
  });

  it('takes the approval messages of the gateway only with the shared secret', async () => {
    const body = JSON.stringify({
      type: 'approval.resolved',
      id: 'apr_unknown',
      status: 'timed-out',
      decidedBy: [],
      reason: null,
    });
    const send = (secret: string) =>
      fetch(`${gateway.httpUrl}/gatehouse/approvals`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...signMessage(secret, body, new Date()) },
      });
    expect((await send('wrong')).status).toBe(401);
    expect((await send('shared-secret')).status).toBe(202);
  });
});
