import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMariaDbTarget,
  mariaDbAvailable,
  NO_MARIADB,
  type MariaDbTestTarget,
} from '../../support/mariadb-target.ts';
import { MYSQL_TEST_TOKEN, recordingMysqlGate, startMysqlAdapter } from '../../support/mysql-gateway.ts';
import { selfSignedCertificate } from '../../support/self-signed.ts';

const run = promisify(execFile);
if (!mariaDbAvailable()) console.warn(NO_MARIADB);

describe.runIf(mariaDbAvailable())('the MySQL adapter in front of the real MariaDB', () => {
  let target: MariaDbTestTarget;
  let gateway: Awaited<ReturnType<typeof startMysqlAdapter>>;
  const gate = recordingMysqlGate(/^DROP/);

  beforeAll(async () => {
    target = createMariaDbTarget();
    target.sql(
      "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100), ssn VARCHAR(20)); INSERT INTO customers VALUES (1, 'a@x.io', '123-45-6789'), (2, 'b@x.io', '987-65-4321')",
    );
    const { cert, key } = selfSignedCertificate();
    gateway = await startMysqlAdapter(target, { openClient: () => ({ gate }), tls: { cert, key } });
  });
  afterAll(async () => {
    await gateway?.close();
    target?.drop();
  });

  async function cli(sql: string, ...flags: string[]): Promise<string> {
    const args = ['-h127.0.0.1', `-P${gateway.port}`, '-uci', `-p${MYSQL_TEST_TOKEN}`, ...flags, 'app-db', '-e', sql];
    try {
      const { stdout, stderr } = await run('mariadb', args.includes('--ssl') ? args : ['--skip-ssl', ...args]);
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  }

  const connect = (extra: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: gateway.port,
      user: 'ci',
      password: MYSQL_TEST_TOKEN,
      database: 'app-db',
      enableCleartextPlugin: true,
      ...extra,
    });

  it('serves the mariadb client (classic EOF framing) with the session token as password', async () => {
    const out = await cli('SELECT id, email FROM customers ORDER BY id; SELECT DATABASE()');
    expect(out).toContain('1\ta@x.io\n2\tb@x.io');
    expect(out).toContain(target.database);
  });

  it('serves mysql2 in the text and binary protocols, multi-statements included', async () => {
    const c = await connect({ multipleStatements: true });
    const [sets] = await c.query<mysql.RowDataPacket[][]>('SELECT COUNT(*) AS n FROM customers; SELECT 2 AS two');
    expect(sets[0]![0]!.n).toBe(2);
    expect(sets[1]![0]!.two).toBe(2);
    const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT email, ? AS p FROM customers WHERE id = ?', ['x', 2]);
    expect(rows).toEqual([{ email: 'b@x.io', p: 'x' }]);
    const executed = gate.seen.find((r) => r.kind === 'execute');
    expect(executed).toMatchObject({ sql: 'SELECT email, ? AS p FROM customers WHERE id = ?', params: ['x', '2'] });
    await c.end();
  });

  it('refuses a denied DROP with an ERR, and the table stays', async () => {
    expect(await cli('DROP TABLE customers')).toContain('ERROR 1142 (42000) at line 1: gatehouse: denied DROP TABLE');
    expect(target.sql('SELECT COUNT(*) FROM customers').trim()).toBe('2');
  });

  it('sees a DROP smuggled in a versioned comment, as the server would run it', async () => {
    const c = await connect();
    await expect(c.query('SELECT 1 /*!50000 ; DROP TABLE customers */')).rejects.toThrow(/gatehouse/);
    await expect(c.query('/*!50000 DROP TABLE customers */')).rejects.toThrow(/denied DROP TABLE/);
    await expect(c.query('/*M!100100 DROP TABLE customers */')).rejects.toThrow(/denied DROP TABLE/);
    expect(target.sql('SELECT COUNT(*) FROM customers').trim()).toBe('2');
    await c.end();
  });

  it('never lets the server read a client file: LOAD DATA LOCAL fails at the server', async () => {
    const c = await connect({ infileStreamFactory: () => Buffer.from('3,c@x.io,000\n') as never });
    await expect(
      c.query("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE customers FIELDS TERMINATED BY ','"),
    ).rejects.toThrow(/not allowed|disabled/i);
    expect(target.sql('SELECT COUNT(*) FROM customers').trim()).toBe('2');
    await c.end();
  });

  it('refuses COM_CHANGE_USER and closes that connection', async () => {
    const c = await connect();
    await expect(c.changeUser({ user: 'root', password: '' })).rejects.toThrow(/COM_CHANGE_USER/);
    await c.destroy();
  });

  it('refuses a wrong token, and a token in clear from a non-loopback client without TLS', async () => {
    const wrong = await run('mariadb', [
      '--skip-ssl',
      '-h127.0.0.1',
      `-P${gateway.port}`,
      '-uci',
      '-pnot-a-token',
      'app-db',
      '-e',
      'SELECT 1',
    ]).catch((e) => e.stderr);
    expect(wrong).toMatch(/not a valid gateway session token/);
    const remote = net.createServer((socket) => gateway.adapter.accept(socket, { loopback: false }));
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    const port = (remote.address() as net.AddressInfo).port;
    const plain = await run('mariadb', [
      '--skip-ssl',
      '-h127.0.0.1',
      `-P${port}`,
      '-uci',
      `-p${MYSQL_TEST_TOKEN}`,
      'app-db',
      '-e',
      'SELECT 1',
    ]).catch((e) => e.stderr);
    expect(plain).toMatch(/only be sent over TLS or from loopback/);
    const secure = await run('mariadb', [
      '--ssl',
      '--ssl-verify-server-cert=0',
      '-h127.0.0.1',
      `-P${port}`,
      '-uci',
      `-p${MYSQL_TEST_TOKEN}`,
      'app-db',
      '-N',
      '-e',
      'SELECT 40 + 2',
    ]);
    expect(secure.stdout.trim()).toBe('42');
    remote.close();
  });

  it('speaks TLS to a client that asks for it', async () => {
    const out = await cli('status', '--ssl', '--ssl-verify-server-cert=0');
    expect(out).toMatch(/SSL:\s+Cipher in use is/);
  });

  it('answers a healthy session while another connection sends garbage', async () => {
    const c = await connect();
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(gateway.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', () =>
        socket.write(Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256)))),
      );
    }
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM customers');
    expect(rows[0]!.n).toBe(2);
    await c.end();
  });
});
