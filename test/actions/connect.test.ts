import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { createRunnerFiles, type RunnerFiles } from './support/runner-files.ts';
import { alive, runStep } from './support/run-step.ts';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0.c2ln';

describe('the connect step (actions/dist/connect.mjs) against a fake gateway', { timeout: 60_000 }, () => {
  let runner: RunnerFiles;
  let oidc: FakeOidcEndpoint;
  let gateway: FakeGateway | undefined;
  const pids: number[] = [];

  beforeEach(async () => {
    runner = createRunnerFiles();
    oidc = await startFakeOidcEndpoint(() => JWT);
  });
  afterEach(async () => {
    for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await oidc.close();
    await gateway?.close();
    gateway = undefined;
    runner.cleanup();
  });

  const stepEnv = (inputs: Record<string, string>, withOidc = true): Record<string, string> => ({
    ...runner.env,
    ...(withOidc ? oidc.env : {}),
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase().replace(/-/g, '_')}`, v])),
  });

  it('fails naming `permissions: id-token: write` when the job cannot request an OIDC token', async () => {
    gateway = await startFakeGateway();
    const result = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db' }, false));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/::error::.*permissions: id-token: write/);
    expect(gateway.requests).toHaveLength(0);
  });

  it('reports a denial with the rules tried and the names of the failed claims', async () => {
    gateway = await startFakeGateway({
      session: () => ({
        status: 403,
        body: {
          error: {
            code: 'no-matching-identity',
            message: 'No identity rule matches this job',
            hint: 'ref is checked against refs/heads/main',
            rules: [{ rule: 'main-deploys', failed_claims: ['ref', 'event_name'] }],
          },
        },
      }),
    });
    const result = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db' }));
    expect(result.code).toBe(1);
    const error = result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? '';
    expect(error).toContain("'main-deploys' (failed claims: ref, event_name)");
    expect(error).toContain('Fix:');
    expect(error).not.toContain(JWT);
  });

  it('gives up on an unreachable gateway after bounded retries and says how to fix it', async () => {
    const port = await closedPort();
    const result = await runStep(
      'connect.mjs',
      stepEnv({ gateway: `http://127.0.0.1:${port}`, connections: 'app-db' }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `::error::Cannot reach the gateway at http://127.0.0.1:${port} (ECONNREFUSED): check the 'gateway' input`,
    );
    expect(result.stdout).toMatch(/tried 4 times with backoff/);
    expect(result.ms).toBeLessThan(10_000);
  });

  it('refuses a connection the session was not granted and ends that session', async () => {
    gateway = await startFakeGateway({ granted: ['app-db'] });
    const result = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db\nbilling-db' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/::error::The session was not granted 'billing-db' \(granted: app-db\)\. Fix:/);
    expect(gateway.requests.some((r) => r.method === 'DELETE' && r.path === '/v1/sessions/ses_fake1')).toBe(true);
  });

  it('asks for the token with the gateway URL as audience and exports the client environment', async () => {
    gateway = await startFakeGateway({ version: '0.9.0' });
    const result = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db', ttl: '10m' }));
    expect(result.stdout + result.stderr).not.toContain('::error::');
    expect(result.code).toBe(0);
    expect(oidc.audiences).toEqual([gateway.url]);
    expect(gateway.requests.find((r) => r.method === 'POST')?.body).toEqual({
      token: JWT,
      connections: ['app-db'],
      ttl: '10m',
    });

    const env = runner.exported();
    const outputs = runner.outputs();
    expect(env.DATABASE_URL).toMatch(/^postgresql:\/\/ci:pw\w+@127\.0\.0\.1:\d+\/app-db$/);
    expect(env.APP_DB_DATABASE_URL).toBe(env.DATABASE_URL);
    expect(env.PGHOST).toBe('127.0.0.1');
    expect(env.PGPORT).toBe(outputs.port);
    expect(env.PGUSER).toBe('ci');
    expect(env.PGDATABASE).toBe('app-db');
    expect(env.DATABASE_URL).toContain(env.PGPASSWORD!);
    expect(outputs['session-id']).toBe('ses_fake1');
    expect(outputs.url).toBe(env.DATABASE_URL);
    expect(JSON.parse(outputs.connections!)).toEqual([
      { name: 'app-db', type: 'postgres', host: '127.0.0.1', port: Number(outputs.port), url: env.DATABASE_URL },
    ]);

    const state = JSON.parse(readFileSync(env.GATEHOUSE_STATE_FILE!, 'utf8')) as { pid: number; token: string };
    pids.push(state.pid);
    expect(alive(state.pid)).toBe(true);
    expect(state.token).toBe(gateway.sessionToken);
  });

  it('registers every secret with the runner before anything that could print it', async () => {
    gateway = await startFakeGateway();
    const result = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db' }));
    expect(result.code).toBe(0);
    const env = runner.exported();
    pids.push(JSON.parse(readFileSync(env.GATEHOUSE_STATE_FILE!, 'utf8')).pid);
    const lines = result.stdout.split('\n');
    const masked = new Set(
      lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length)),
    );
    for (const secret of [gateway.sessionToken, env.PGPASSWORD!, env.DATABASE_URL!, JWT])
      expect(masked.has(secret)).toBe(true);
    for (const secret of masked) {
      expect(lines.findIndex((l) => l.includes(secret))).toBe(lines.indexOf(`::add-mask::${secret}`));
    }
    expect(result.stdout.replace(/::add-mask::.*\n/g, '')).not.toContain(env.PGPASSWORD!);
  });

  it('caches the gateway client with the tool cache, reports the version skew, and reuses the cache', async () => {
    gateway = await startFakeGateway({ version: '0.9.0' });
    const first = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db' }));
    expect(first.code).toBe(0);
    pids.push(JSON.parse(readFileSync(runner.exported().GATEHOUSE_STATE_FILE!, 'utf8')).pid);
    expect(first.stdout).toMatch(/::warning::Version skew: the gateway runs 0\.9\.0 and this action is \d+\.\d+\.\d+/);
    const cached = join(
      runner.env.RUNNER_TOOL_CACHE!,
      'gatehouse-connect',
      '0.9.0',
      process.arch,
      'gatehouse-connect.mjs',
    );
    expect(existsSync(cached)).toBe(true);
    const downloads = () => gateway!.requests.filter((r) => r.path === '/v1/client/connect.mjs').length;
    expect(downloads()).toBe(1);

    const second = await runStep('connect.mjs', stepEnv({ gateway: gateway.url, connections: 'app-db' }));
    expect(second.code).toBe(0);
    pids.push(JSON.parse(readFileSync(runner.exported().GATEHOUSE_STATE_FILE!, 'utf8')).pid);
    expect(downloads()).toBe(1);
    expect(second.stdout).toContain('(client 0.9.0, cache)');
  });

  it('exports per-connection URLs but no DATABASE_URL or PG* when two PostgreSQL connections are open', async () => {
    gateway = await startFakeGateway();
    const result = await runStep(
      'connect.mjs',
      stepEnv({ gateway: gateway.url, connections: 'app-db, billing-db', 'export-env': 'true' }),
    );
    expect(result.code).toBe(0);
    const env = runner.exported();
    pids.push(JSON.parse(readFileSync(env.GATEHOUSE_STATE_FILE!, 'utf8')).pid);
    expect(env.APP_DB_DATABASE_URL).toMatch(/\/app-db$/);
    expect(env.BILLING_DB_DATABASE_URL).toMatch(/\/billing-db$/);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.PGHOST).toBeUndefined();
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the connect step when the gateway cannot reach the OIDC issuer', { timeout: 60_000 }, () => {
  it('requests a fresh token for each retry of the exchange and then reports the issuer problem', async () => {
    const runner = createRunnerFiles();
    let minted = 0;
    const oidc = await startFakeOidcEndpoint(() => `tok.${(minted += 1)}.sig`);
    const gateway = await startFakeGateway({
      session: () => ({
        status: 503,
        body: { error: { code: 'issuer.unreachable', message: 'the JWKS of the issuer cannot be fetched' } },
      }),
    });
    try {
      const result = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: gateway.url,
        INPUT_CONNECTIONS: 'app-db',
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /::error::The gateway at .* answered 503 while opening a session: the JWKS of the issuer cannot be fetched\. Fix: the gateway cannot fetch/,
      );
      const tokens = gateway.requests
        .filter((r) => r.method === 'POST')
        .map((r) => (r.body as { token: string }).token);
      expect(tokens).toEqual(['tok.1.sig', 'tok.2.sig', 'tok.3.sig']);
    } finally {
      await oidc.close();
      await gateway.close();
      runner.cleanup();
    }
  });
});

describe('the connect step with an SSH connection', { timeout: 60_000 }, () => {
  it('writes a Host entry, includes it from ~/.ssh/config, and disconnect takes the include out again', async () => {
    const runner = createRunnerFiles();
    const oidc = await startFakeOidcEndpoint(() => JWT);
    const gateway = await startFakeGateway();
    try {
      const result = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: gateway.url,
        INPUT_CONNECTIONS: 'deploy-host',
      });
      expect(result.code).toBe(0);
      const env = runner.exported();
      const config = readFileSync(env.GATEHOUSE_SSH_CONFIG!, 'utf8');
      expect(config).toMatch(/^Host deploy-host\n {2}HostName 127\.0\.0\.1\n {2}Port \d+\n/m);
      expect(config).toContain('StrictHostKeyChecking yes');
      const userConfig = join(runner.env.HOME!, '.ssh', 'config');
      expect(readFileSync(userConfig, 'utf8')).toBe(`Include "${env.GATEHOUSE_SSH_CONFIG}"\n`);
      expect(env.DATABASE_URL).toBeUndefined();

      const disconnect = await runStep('disconnect.mjs', runner.env);
      expect(disconnect.code).toBe(0);
      expect(readFileSync(userConfig, 'utf8')).toBe('');
    } finally {
      await oidc.close();
      await gateway.close();
      runner.cleanup();
    }
  });
});

describe('the connect step when the gateway serves a client that does not start', { timeout: 60_000 }, () => {
  it("warns and falls back to the action's own client for the same session", async () => {
    const runner = createRunnerFiles();
    const oidc = await startFakeOidcEndpoint(() => JWT);
    const gateway = await startFakeGateway({
      version: '0.9.0',
      clientBody: "console.error('unknown flag --session-id'); process.exit(2);\n",
    });
    try {
      const result = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: gateway.url,
        INPUT_CONNECTIONS: 'app-db',
      });
      expect(result.stdout).toMatch(
        /::warning::The gateway's client 0\.9\.0 did not start \(The local proxy stopped before it was ready \(exit code 2\)\. Its log says:\); retrying with the action's own client/,
      );
      expect(result.code).toBe(0);
      const state = JSON.parse(readFileSync(runner.exported().GATEHOUSE_STATE_FILE!, 'utf8')) as {
        pid: number;
        bundlePath: string;
      };
      expect(state.bundlePath.endsWith('actions/dist/gatehouse-connect.mjs')).toBe(true);
      expect(result.stdout).toMatch(/client \d+\.\d+\.\d+, shipped\)/);
      expect(runner.exported().DATABASE_URL).toMatch(/^postgresql:\/\/ci:[\w-]+@127\.0\.0\.1:\d+\/app-db$/);
      expect((await runStep('disconnect.mjs', runner.env)).code).toBe(0);
      expect(alive(state.pid)).toBe(false);
    } finally {
      await oidc.close();
      await gateway.close();
      runner.cleanup();
    }
  });
});
