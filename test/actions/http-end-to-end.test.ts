import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTarget, type HttpTestTarget } from '../support/http-target.ts';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { startActionTestbed, type ActionTestbed } from './support/real-gateway.ts';
import { createRunnerFiles } from './support/runner-files.ts';
import { runStep } from './support/run-step.ts';

const execFileAsync = promisify(execFile);
const API_TOKEN = 'billing-api-token-held-by-the-gateway';

const POLICY = `
identities:
  - { name: main-deploys, claims: { repository: acme/app, ref: refs/heads/main }, repository_id: "123456", connections: [billing-api] }
rules:
  - { name: billing-reads, connections: [billing-api], when: { http: { method: [GET] } }, action: allow, reason: "reads" }
  - { name: no-deletes, connections: [billing-api], when: { http: { method: [DELETE] } }, action: deny, reason: "no deletes from CI" }
`;

describe('the Action with an HTTP connection, against the real gateway and an HTTP target', { timeout: 60_000 }, () => {
  let target: HttpTestTarget;
  let bed: ActionTestbed;
  let oidc: FakeOidcEndpoint;

  beforeAll(async () => {
    target = await startHttpTarget();
    bed = await startActionTestbed(POLICY, { http: { url: target.url, apiToken: API_TOKEN } });
    oidc = await startFakeOidcEndpoint((audience) => bed.issuer.mint({}, { aud: audience }));
  }, 90_000);
  afterAll(async () => {
    await oidc?.close();
    await bed?.close();
    await target?.close();
  });

  it('exports BILLING_API_URL and BILLING_API_TOKEN that curl uses as they are, and summarises the requests', async () => {
    const runner = createRunnerFiles();
    try {
      const connect = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: bed.gateway.httpUrl,
        INPUT_AUDIENCE: bed.audience,
        INPUT_CONNECTIONS: 'billing-api',
      });
      expect(connect.stdout).not.toContain('::error::');
      expect(connect.code).toBe(0);
      const env = runner.exported();
      expect(env.BILLING_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(connect.stdout).toContain(`::add-mask::${env.BILLING_API_TOKEN}`);

      const curl = (...args: string[]) =>
        execFileAsync('/bin/sh', ['-c', `curl -sS -H "Authorization: Bearer $BILLING_API_TOKEN" ${args.join(' ')}`], {
          env: { PATH: process.env.PATH, ...env },
        });
      const read = await curl('"$BILLING_API_URL/invoices?page=2"');
      expect(JSON.parse(read.stdout)).toMatchObject({ method: 'GET', url: '/invoices?page=2' });
      expect(target.requests.at(-1)?.headers.authorization).toBe(`Bearer ${API_TOKEN}`);
      const denied = await curl('-X DELETE -o /dev/null -w "%{http_code}"', '"$BILLING_API_URL/invoices/1"');
      expect(denied.stdout).toBe('403');

      const disconnect = await runStep('disconnect.mjs', runner.env);
      expect(disconnect.code).toBe(0);
      const summary = runner.summary();
      expect(summary).toMatch(/\| billing-api \| `GET \/invoices` \| allow \| billing-reads \|/);
      expect(summary).toMatch(/\| billing-api \| `DELETE \/invoices\/1` \| deny \| no-deletes \|/);
      expect(summary).not.toContain(API_TOKEN);
    } finally {
      runner.cleanup();
    }
  }, 90_000);
});
