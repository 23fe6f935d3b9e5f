import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresConnectionConfig } from '../../../gateway/config/config-types.ts';
import { connectToTarget } from '../../../gateway/postgres/target-connection.ts';
import { canStartPrivateCluster, startPrivateCluster, type PrivateCluster } from '../../support/private-postgres.ts';

// The shared server trusts loopback, so SCRAM and target TLS need a private cluster; CI always has one.
const runnable = canStartPrivateCluster || process.env.CI === 'true';

describe.runIf(runnable)('authenticating to the target', () => {
  let cluster: PrivateCluster;
  beforeAll(async () => {
    cluster = await startPrivateCluster();
  }, 60_000);
  afterAll(async () => cluster?.stop());

  const config = (overrides: Partial<PostgresConnectionConfig>): PostgresConnectionConfig => ({
    type: 'postgres',
    name: 'scram-db',
    url: `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres`,
    password: cluster.password,
    sslmode: 'disable',
    audit: 'required',
    ...overrides,
  });

  it('completes SCRAM-SHA-256 with the configured password', async () => {
    const target = await connectToTarget(config({}), { clientParameters: {} });
    expect(target.parameters.get('server_version')).toMatch(/^\d+/);
    expect(target.backendKey.pid).toBeGreaterThan(0);
    target.socket.destroy();
  });

  it('verifies the target certificate with sslmode verify-full and the configured CA', async () => {
    const target = await connectToTarget(config({ sslmode: 'verify-full', ca: cluster.certificate }), {
      clientParameters: {},
    });
    expect('encrypted' in target.socket && target.socket.encrypted).toBe(true);
    target.socket.destroy();
  });

  it('refuses a target certificate the CA did not sign under verify-full', async () => {
    const otherCa = execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', '/dev/null'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
    await expect(
      connectToTarget(config({ sslmode: 'verify-full', ca: otherCa }), { clientParameters: {} }),
    ).rejects.toMatchObject({ code: 'pg.target-tls' });
  });

  it('reports rejected credentials without revealing the password', async () => {
    const error = await connectToTarget(config({ password: 'wrong-password-xyz' }), { clientParameters: {} }).catch(
      (e) => e,
    );
    expect(error.code).toBe('pg.target-auth');
    expect(error.message).not.toContain('wrong-password-xyz');
    expect(error.message).toContain("check the connection's user and password");
  });

  it('lets a real client authenticate the same way node-postgres does (sanity of the cluster)', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: cluster.port,
      user: cluster.user,
      password: cluster.password,
      database: 'postgres',
    });
    await client.connect();
    expect((await client.query("SELECT current_setting('password_encryption') AS p")).rows[0].p).toBe('scram-sha-256');
    await client.end();
  });
});
