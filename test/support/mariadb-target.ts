import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** The shared MariaDB every machine runs (root, no password); tests create their own users and schemas. */
export const SHARED_MARIADB = { host: '127.0.0.1', port: 3306 } as const;

/**
 * Whether the shared MariaDB answers, decided once per run by the global setup
 * (GATEHOUSE_TEST_MYSQL=real|absent); under CI=true its absence already failed the run.
 */
export function mariaDbAvailable(): boolean {
  return process.env.GATEHOUSE_TEST_MYSQL === 'real';
}

/** A message for the tests that cannot run without the server (printed, never a silent pass). */
export const NO_MARIADB =
  'MariaDB does not answer on 127.0.0.1:3306: the MySQL data-path tests are skipped (start it with `service mariadb start`; under CI=true this fails the run)';

/** Runs SQL on a MariaDB as root with the `mariadb` client; returns tab-separated rows. */
export function mariaSql(statement: string, port: number = SHARED_MARIADB.port, database?: string): string {
  return execFileSync('mariadb', [
    '-h127.0.0.1',
    `-P${port}`,
    '-uroot',
    '-N',
    '-B',
    ...(database ? [database] : []),
    '-e',
    statement,
  ]).toString();
}

/** A random name for a user or schema, so parallel test files never collide. */
export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A schema and a user with a password on the shared server, dropped by `drop()`. */
export interface MariaDbTestTarget {
  database: string;
  user: string;
  password: string;
  port: number;
  url: string;
  sql(statement: string): string;
  drop(): void;
}

export function createMariaDbTarget(
  plugin: 'mysql_native_password' = 'mysql_native_password',
  port: number = SHARED_MARIADB.port,
): MariaDbTestTarget {
  const database = randomName('gh_db');
  const user = randomName('gh_u');
  const password = `pw-${randomBytes(6).toString('hex')}`;
  mariaSql(
    `CREATE DATABASE ${database}; CREATE USER '${user}'@'127.0.0.1' IDENTIFIED VIA ${plugin} USING PASSWORD('${password}'); GRANT ALL ON ${database}.* TO '${user}'@'127.0.0.1';`,
    port,
  );
  return {
    database,
    user,
    password,
    port,
    url: `mysql://${user}@127.0.0.1:${port}/${database}`,
    sql: (statement) => mariaSql(statement, port, database),
    drop: () => mariaSql(`DROP DATABASE IF EXISTS ${database}; DROP USER IF EXISTS '${user}'@'127.0.0.1';`, port),
  };
}

/** Waits until a MariaDB on `port` answers a connection (a greeting, or an ERR for hosts it does not know). */
export async function waitForMariaDb(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await greets(port, '127.0.0.1', true)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`MariaDB did not answer on port ${port} within ${timeoutMs} ms`);
}

/** True when something on `port` sends a MySQL greeting (protocol version 10; or any packet with `anyPacket`) within a second. */
export function greets(port: number, host = '127.0.0.1', anyPacket = false): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('data', (d: Buffer) => {
      socket.destroy();
      resolve(d.length > 4 && (anyPacket || d[4] === 10));
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
