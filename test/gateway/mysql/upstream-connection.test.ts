import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITY } from '../../../gateway/mysql/codec/capabilities.ts';
import type { MysqlConnectionConfig } from '../../../gateway/mysql/mysql-config.ts';
import { connectUpstream, type UpstreamRequest } from '../../../gateway/mysql/upstream-connection.ts';
import { startCachingSha2Server } from '../../support/caching-sha2-server.ts';
import { createMariaDbTarget, mariaDbAvailable, NO_MARIADB, randomName } from '../../support/mariadb-target.ts';
import { canStartPrivateMariaDb, startPrivateMariaDb, type PrivateMariaDb } from '../../support/private-mariadb.ts';
import { queryRows } from './upstream-query.ts';

const request: UpstreamRequest = {
  capabilities: CAPABILITY.PROTOCOL_41 | CAPABILITY.MULTI_STATEMENTS | CAPABILITY.LOCAL_FILES | CAPABILITY.COMPRESS,
  mariadbCapabilities: 1,
  characterSet: 45,
  attributes: [['program_name', 'test']],
};

function config(url: string, extra: Partial<MysqlConnectionConfig> = {}): MysqlConnectionConfig {
  return { type: 'mysql', name: 'app-db', url, sslmode: 'disable', audit: 'required', ...extra };
}

if (!mariaDbAvailable()) console.warn(NO_MARIADB);

describe.runIf(mariaDbAvailable())('upstream connection to the shared MariaDB', () => {
  const target = mariaDbAvailable() ? createMariaDbTarget() : undefined!;
  afterAll(() => target?.drop());

  it('authenticates with mysql_native_password and never passes on compression, LOCAL_FILES or PROGRESS', async () => {
    const upstream = await connectUpstream(config(target.url, { password: target.password }), request);
    expect(upstream.greeting.serverVersion).toContain('MariaDB');
    expect(upstream.capabilities & CAPABILITY.COMPRESS).toBe(0);
    expect(upstream.capabilities & CAPABILITY.LOCAL_FILES).toBe(0);
    expect(upstream.capabilities & CAPABILITY.MULTI_STATEMENTS).toBe(CAPABILITY.MULTI_STATEMENTS);
    expect(upstream.capabilities & CAPABILITY.DEPRECATE_EOF).toBe(CAPABILITY.DEPRECATE_EOF);
    expect(upstream.mariadbCapabilities & 1).toBe(0);
    const rows = await queryRows(upstream.socket, 'SELECT CURRENT_USER(), DATABASE()', upstream.leftover);
    expect(rows).toEqual([[`${target.user}@127.0.0.1`, target.database]]);
    upstream.socket.destroy();
  });

  it("reports a wrong password as the target's refusal, without the password", async () => {
    const error = await connectUpstream(config(target.url, { password: 'not-it-123' }), request).catch((e) => e);
    expect(error.code).toBe('mysql.target-auth');
    expect(error.message).toContain("connection 'app-db'");
    expect(error.message).not.toContain('not-it-123');
  });

  it('refuses sslmode require against a server without TLS', async () => {
    const error = await connectUpstream(
      config(target.url, { password: target.password, sslmode: 'require' }),
      request,
    ).catch((e) => e);
    expect(error.code).toBe('mysql.target-no-tls');
  });
});

describe.runIf(canStartPrivateMariaDb)('upstream connection to a private MariaDB with TLS and ed25519', () => {
  let server: PrivateMariaDb;
  const user = randomName('gh_ed');
  const password = 'ed-secret-7';
  beforeAll(async () => {
    server = await startPrivateMariaDb();
    server.sql(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('${password}')`);
  });
  afterAll(async () => {
    server?.sql(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
    await server?.stop();
  });

  it('switches to client_ed25519 when the server asks and signs the scramble with the password', async () => {
    const upstream = await connectUpstream(config(`mysql://${user}@127.0.0.1:${server.port}`, { password }), request);
    expect(await queryRows(upstream.socket, 'SELECT CURRENT_USER()', upstream.leftover)).toEqual([
      [`${user}@127.0.0.1`],
    ]);
    upstream.socket.destroy();
  });

  it('talks TLS to the server, verifying its certificate with verify-full', async () => {
    const upstream = await connectUpstream(
      config(`mysql://${user}@127.0.0.1:${server.port}`, { password, sslmode: 'verify-full', ca: server.certificate }),
      request,
    );
    const rows = await queryRows(upstream.socket, "SHOW SESSION STATUS LIKE 'Ssl_version'", upstream.leftover);
    expect(rows[0]![1]).toMatch(/^TLSv1\.[23]$/);
    upstream.socket.destroy();
  });

  it('refuses a certificate that verify-full cannot verify', async () => {
    const error = await connectUpstream(
      config(`mysql://${user}@127.0.0.1:${server.port}`, { password, sslmode: 'verify-full' }),
      request,
    ).catch((e) => e);
    expect(error.code).toBe('mysql.target-tls');
  });

  it('refuses a wrong ed25519 password', async () => {
    const error = await connectUpstream(
      config(`mysql://${user}@127.0.0.1:${server.port}`, { password: 'wrong' }),
      request,
    ).catch((e) => e);
    expect(error.code).toBe('mysql.target-auth');
  });
});

describe('upstream caching_sha2_password (MySQL 8 stand-in)', () => {
  it('authenticates on the fast path', async () => {
    const standIn = await startCachingSha2Server('deployer', 'sha2-pw', { fullAuth: false });
    const upstream = await connectUpstream(
      config(`mysql://deployer@127.0.0.1:${standIn.port}`, { password: 'sha2-pw' }),
      request,
    );
    expect(upstream.greeting.serverVersion).toBe('8.0.36-standin');
    expect(standIn.paths).toEqual(['fast']);
    upstream.socket.destroy();
    await standIn.close();
  });

  it('does full authentication in clear over TLS, and over RSA with the key it requests without TLS', async () => {
    const standIn = await startCachingSha2Server('deployer', 'sha2-pw', { fullAuth: true });
    const url = `mysql://deployer@127.0.0.1:${standIn.port}`;
    (await connectUpstream(config(url, { password: 'sha2-pw', sslmode: 'require' }), request)).socket.destroy();
    (await connectUpstream(config(url, { password: 'sha2-pw' }), request)).socket.destroy();
    (
      await connectUpstream(config(url, { password: 'sha2-pw', serverPublicKey: standIn.publicKey }), request)
    ).socket.destroy();
    expect(standIn.paths).toEqual(['tls', 'rsa', 'rsa']);
    const error = await connectUpstream(config(url, { password: 'nope' }), request).catch((e) => e);
    expect(error.code).toBe('mysql.target-auth');
    await standIn.close();
  });

  it('is a faithful stand-in: mysql2 authenticates against it on both paths', async () => {
    const mysql = (await import('mysql2/promise')).default;
    for (const fullAuth of [false, true]) {
      const standIn = await startCachingSha2Server('deployer', 'sha2-pw', { fullAuth });
      const connection = await mysql.createConnection({
        host: '127.0.0.1',
        port: standIn.port,
        user: 'deployer',
        password: 'sha2-pw',
        ssl: fullAuth ? { rejectUnauthorized: false } : undefined,
      });
      connection.destroy();
      expect(standIn.paths).toEqual([fullAuth ? 'tls' : 'fast']);
      await standIn.close();
    }
  });
});
