import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { startActionTestbed, type ActionTestbed } from './support/real-gateway.ts';
import { createRunnerFiles } from './support/runner-files.ts';
import { runStep } from './support/run-step.ts';

describe('the Action against the real gateway and PostgreSQL', () => {
  let bed: ActionTestbed;
  let oidc: FakeOidcEndpoint;
  let claims: Record<string, unknown> = {};

  beforeAll(async () => {
    bed = await startActionTestbed();
    oidc = await startFakeOidcEndpoint((audience) => bed.issuer.mint(claims, { aud: audience }));
  });
  afterAll(async () => {
    await oidc?.close();
    await bed?.close();
  });

  it('names the identity rule and the failed claims when a feature branch asks for a session', async () => {
    claims = { ref: 'refs/heads/feature' };
    const runner = createRunnerFiles();
    try {
      const result = await runStep('connect.mjs', { ...runner.env, ...oidc.env, INPUT_GATEWAY: bed.gateway.httpUrl, INPUT_AUDIENCE: bed.audience, INPUT_CONNECTIONS: 'app-db' });
      expect(result.code).toBe(1);
      const error = result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? '';
      expect(error).toContain("The gateway denied this job a session: no identity rule admits this job (tried: main-deploys).");
      expect(error).toContain("'main-deploys' (failed claims: ref)");
      expect(error).not.toContain('refs/heads/feature');
      expect(runner.exported()).toEqual({});
    } finally {
      runner.cleanup();
    }
  });

  it('tells the job to fix the audience when the token was minted for another one', async () => {
    claims = {};
    const runner = createRunnerFiles();
    try {
      const result = await runStep('connect.mjs', { ...runner.env, ...oidc.env, INPUT_GATEWAY: bed.gateway.httpUrl, INPUT_CONNECTIONS: 'app-db' });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/::error::The gateway rejected the job's OIDC token: .*Fix: make the 'audience' input equal the audience configured/);
      expect(oidc.audiences.at(-1)).toBe(bed.gateway.httpUrl);
    } finally {
      runner.cleanup();
    }
  });

  it('refuses a connection the identity rule does not grant', async () => {
    claims = {};
    const runner = createRunnerFiles();
    try {
      const result = await runStep('connect.mjs', { ...runner.env, ...oidc.env, INPUT_GATEWAY: bed.gateway.httpUrl, INPUT_AUDIENCE: bed.audience, INPUT_CONNECTIONS: 'app-db, billing-db' });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/::error::The gateway did not grant a requested connection: identity rule main-deploys does not grant billing-db .*Fix: remove it from the 'connections' input/);
    } finally {
      runner.cleanup();
    }
  });
});
