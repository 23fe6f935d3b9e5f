import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectArgs } from '../../../gateway/client/connect-command.ts';
import { parseConfig } from '../../../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server/gateway.ts';
import { startLocalProxy } from '../../../gateway/client/local-proxy.ts';
import pg from 'pg';
import type { ConnectReadyLine } from '../../../wire/control-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('connect arguments', () => {
  it('reads the OIDC token from an environment variable and connections with optional ports', () => {
    const args = parseConnectArgs(
      ['--gateway', 'https://gw', '--token-env', 'T', '--ttl', '5m', 'app-db', 'deploy:2222'],
      { T: ' jwt \n' },
    );
    expect(args).toMatchObject({
      gateway: 'https://gw',
      credential: { oidcToken: 'jwt', ttl: '5m' },
      connections: [{ name: 'app-db' }, { name: 'deploy', port: 2222 }],
    });
  });

  it('adopts a session given by id with its token in an environment variable', () => {
    const args = parseConnectArgs(['--gateway', 'https://gw', '--session-id', 'ses_1', '--session-token-env', 'S'], {
      S: 'gwh_x',
    });
    expect(args.credential).toEqual({ sessionId: 'ses_1', sessionToken: 'gwh_x' });
  });

  it.each([
    [['--token', 'x', 'db'], /--gateway is required/],
    [['--gateway', 'https://gw', 'db'], /exactly one of/],
    [['--gateway', 'https://gw', '--token', 'x', '--token-env', 'T', 'db'], /exactly one of/],
    [['--gateway', 'https://gw', '--token-env', 'MISSING', 'db'], /MISSING is empty or not set/],
    [['--gateway', 'https://gw', '--token', 'x', 'db:99999'], /port 1-65535/],
    [['--gateway', 'https://gw', '--token', 'x', '--detach', 'db'], /--pidfile/],
    [['--gateway', 'https://gw', '--session-id', 's', 'db'], /--session-token-env/],
    [['--gateway', 'https://gw', '--token', 'x', '--bogus'], /Unknown option/],
  ])('refuses %j with a message naming the fix', (argv, message) => {
    expect(() => parseConnectArgs(argv, {})).toThrow(message);
  });
});

describe('gatehouse connect end to end', () => {
  let db: TestDatabase;
  let gateway: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('CREATE TABLE answers (n int); INSERT INTO answers VALUES (42);');
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-connect-'));
    const policies = path.join(dir, 'policies');
    rmSync(policies, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(policies));
    copyFileSync(path.join(ROOT, 'policies/default.yaml'), path.join(policies, 'default.yaml'));
    writeFileSync(
      path.join(policies, '10-identities.yaml'),
      'identities:\n  - name: main\n    claims: { repository: acme/app, ref: refs/heads/main }\n    connections: [app-db]\n',
    );
    const file = path.join(dir, 'gatehouse.yaml');
    const yaml = [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      'store: "memory://connect-e2e"',
      'issuers: [{ issuer: dev, audience: "https://gatehouse.e2e" }]',
      'policies: ./policies',
      'connections:',
      `  app-db: { type: postgres, url: "${db.url}" }`,
    ].join('\n');
    writeFileSync(file, yaml);
    gateway = await startGateway(parseConfig(yaml, file), { log: () => {} });
  });
  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function psql(url: string, sql: string): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
      execFile(
        'psql',
        [url, '-XAtc', sql],
        { timeout: 20_000, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
        (error, out, err) => {
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: out.trim(), err });
        },
      );
    });
  }

  it('serves psql through the tunnel on the printed URL, refuses a wrong local password, and ends the session on SIGTERM', async () => {
    const key = await loadDevIssuerKey(gateway.store);
    const token = await mintDevToken(
      key,
      'https://gatehouse.e2e',
      { repository: 'acme/app', ref: 'refs/heads/main' },
      systemClock,
    );
    const pidfile = path.join(dir, 'connect.pid');
    const log = path.join(dir, 'connect.log');
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin/gatehouse.js'),
        'connect',
        '--gateway',
        gateway.httpUrl,
        '--token-env',
        'DEV_TOKEN',
        '--detach',
        '--pidfile',
        pidfile,
        '--log',
        log,
        'app-db',
      ],
      {
        env: { ...process.env, DEV_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const ready = JSON.parse(stdout.trim()) as ConnectReadyLine;
    const pid = Number(readFileSync(pidfile, 'utf8'));
    try {
      const [conn] = ready.connections;
      expect(conn).toMatchObject({ name: 'app-db', type: 'postgres', host: '127.0.0.1' });
      const result = await psql(conn!.url!, 'SELECT n FROM answers');
      expect(result).toMatchObject({ code: 0, out: '42' });
      const wrong = await psql(conn!.url!.replace(conn!.password!, 'not-the-password'), 'SELECT 1');
      expect(wrong.code).not.toBe(0);
      expect(wrong.err).toContain('password authentication failed');
      expect(readFileSync(log, 'utf8')).not.toContain(token);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 100 && (await gateway.store.getSession(ready.session_id))?.endedAt == null; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await gateway.store.getSession(ready.session_id))?.endReason).toBe('disconnect');
    for (let i = 0; i < 100 && existsSync(pidfile); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(pidfile)).toBe(false);
  });

  it('closes a live PostgreSQL client with a clear message when its session is revoked', async () => {
    const key = await loadDevIssuerKey(gateway.store);
    const token = await mintDevToken(
      key,
      'https://gatehouse.e2e',
      { repository: 'acme/app', ref: 'refs/heads/main' },
      systemClock,
    );
    const proxy = await startLocalProxy({
      gateway: gateway.httpUrl,
      credential: { oidcToken: token },
      connections: [{ name: 'app-db' }],
    });
    const client = new pg.Client({ connectionString: proxy.ready.connections[0]!.url });
    try {
      await client.connect();
      expect((await client.query('SELECT n FROM answers')).rows).toEqual([{ n: 42 }]);
      const errors: Error[] = [];
      const failure = new Promise<void>((resolve) => client.on('error', (error) => resolve(void errors.push(error))));
      await gateway.sessions.revoke(proxy.ready.session_id, 'revoked');
      await failure;
      expect(errors[0]!.message).toMatch(/session/);
      await expect(new pg.Client({ connectionString: proxy.ready.connections[0]!.url }).connect()).rejects.toThrow(
        /revoked or expired/,
      );
    } finally {
      await client.end().catch(() => undefined);
      await proxy.close();
    }
  });
});
