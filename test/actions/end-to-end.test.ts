import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { startActionTestbed, type ActionTestbed } from './support/real-gateway.ts';
import { createRunnerFiles } from './support/runner-files.ts';
import { alive, runStep } from './support/run-step.ts';

describe('the Action against the real gateway and PostgreSQL', { timeout: 60_000 }, () => {
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
      const result = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: bed.gateway.httpUrl,
        INPUT_AUDIENCE: bed.audience,
        INPUT_CONNECTIONS: 'app-db',
      });
      expect(result.code).toBe(1);
      const error = result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? '';
      expect(error).toContain(
        'The gateway denied this job a session: no identity rule admits this job (tried: main-deploys).',
      );
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
      const result = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: bed.gateway.httpUrl,
        INPUT_CONNECTIONS: 'app-db',
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /::error::The gateway rejected the job's OIDC token: .*Fix: make the 'audience' input equal the audience configured/,
      );
      expect(oidc.audiences.at(-1)).toBe(bed.gateway.httpUrl);
    } finally {
      runner.cleanup();
    }
  });

  it('refuses a connection the identity rule does not grant', async () => {
    claims = {};
    const runner = createRunnerFiles();
    try {
      const result = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: bed.gateway.httpUrl,
        INPUT_AUDIENCE: bed.audience,
        INPUT_CONNECTIONS: 'app-db, billing-db',
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /::error::The gateway did not grant a requested connection: identity rule main-deploys does not grant billing-db .*Fix: remove it from the 'connections' input/,
      );
    } finally {
      runner.cleanup();
    }
  });

  it('connects, lets psql run on $DATABASE_URL through the proxy, then disconnects and summarises the session', async () => {
    claims = {};
    const runner = createRunnerFiles();
    try {
      const connect = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: bed.gateway.httpUrl,
        INPUT_AUDIENCE: bed.audience,
        INPUT_CONNECTIONS: 'app-db',
        INPUT_TTL: '5m',
      });
      expect(connect.stdout).not.toContain('::error::');
      expect(connect.code).toBe(0);
      expect(connect.stdout).toMatch(/is open until .* \(client \d+\.\d+\.\d+, gateway\)\./);
      const env = runner.exported();
      const outputs = runner.outputs();
      const state = JSON.parse(readFileSync(env.GATEHOUSE_STATE_FILE!, 'utf8')) as {
        pid: number;
        token: string;
        sessionId: string;
      };
      expect(outputs['session-id']).toBe(state.sessionId);
      expect(alive(state.pid)).toBe(true);

      const psql = (sql: string) =>
        run('/bin/sh', ['-c', 'psql "$DATABASE_URL" -X -A -t -c "$SQL"'], { ...env, SQL: sql });
      const one = await psql('select 1');
      expect(one.stderr).toBe('');
      expect(one.stdout.trim()).toBe('1');
      const { DATABASE_URL: _url, APP_DB_DATABASE_URL: _appUrl, ...libpqOnly } = env;
      const libpq = await run('psql', ['-X', '-A', '-t', '-c', 'select 40 + 2'], libpqOnly);
      expect(libpq.stdout.trim()).toBe('42');
      expect((await psql('select email from customers where id = 1')).stdout).not.toContain('ada@engines.example.com');
      expect((await psql('drop table orders')).stderr).toMatch(/no-drop|not allowed/i);

      const disconnect = await runStep('disconnect.mjs', runner.env);
      expect(disconnect.stdout).not.toContain('::error::');
      expect(disconnect.code).toBe(0);
      expect(alive(state.pid)).toBe(false);
      const after = await fetch(`${bed.gateway.httpUrl}/v1/sessions/${state.sessionId}`, {
        headers: { authorization: `Bearer ${state.token}` },
      });
      expect([401, 404]).toContain(after.status);
      expect((await psql('select 1')).status).not.toBe(0);

      const summary = runner.summary();
      expect(summary).toContain(`### Gatehouse session \`${state.sessionId}\``);
      expect(summary).toContain('| # | Connection | Statement | Decision | Rule | Rows | Masked |');
      expect(summary).toMatch(/\| app-db \| `drop table orders` \| deny \| no-drop \|/);
      expect(summary).toMatch(/\| app-db \| `select 1` \| allow \| reads-and-writes \| 1 \| 0 \|/);
      expect(summary).not.toContain('ada@engines.example.com');
    } finally {
      runner.cleanup();
    }
  }, 90_000);
});

/** Runs a client without blocking this process, which also hosts the gateway under test. */
function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
