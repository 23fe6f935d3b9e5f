import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMariaDbTarget,
  mariaDbAvailable,
  NO_MARIADB,
  type MariaDbTestTarget,
} from '../../support/mariadb-target.ts';
import { MYSQL_TEST_TOKEN, startMysqlTestGateway } from '../../support/mysql-gateway.ts';

if (!mariaDbAvailable()) console.warn(NO_MARIADB);

describe.runIf(mariaDbAvailable())('KILL through the gateway (a client Ctrl-C on a second connection)', () => {
  let target: MariaDbTestTarget;
  let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;

  beforeAll(async () => {
    target = createMariaDbTarget();
    gateway = await startMysqlTestGateway(target);
  });
  afterAll(async () => {
    await gateway?.close();
    target?.drop();
  });

  const connect = () =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: gateway.mysqlPort,
      user: 'ci',
      password: MYSQL_TEST_TOKEN,
      database: 'app-db',
      enableCleartextPlugin: true,
    });

  it("cancels the session's own running query by the id the gateway greeted it with", async () => {
    const [busy, killer] = await Promise.all([connect(), connect()]);
    try {
      const started = Date.now();
      const running = busy.query('SELECT SLEEP(30) AS slept');
      await new Promise((r) => setTimeout(r, 500));
      await killer.query(`KILL QUERY ${busy.threadId}`);
      await expect(running).rejects.toThrow(/interrupted/);
      expect(Date.now() - started).toBeLessThan(10_000);
      const [after] = (await busy.query('SELECT 2 AS two')) as unknown as [{ two: number }[]];
      expect(after[0]!.two).toBe(2);
    } finally {
      await Promise.all([busy.end(), killer.end()]);
    }
  });

  it('lets the mariadb client cancel its query with Ctrl-C (it sends KILL QUERY on a second connection)', async () => {
    const args = ['--skip-ssl', '-h127.0.0.1', `-P${gateway.mysqlPort}`, '-uci', `-p${MYSQL_TEST_TOKEN}`, 'app-db'];
    const child = spawn('mariadb', [...args, '-e', 'SELECT SLEEP(20)']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const started = Date.now();
    setTimeout(() => child.kill('SIGINT'), 1000);
    await new Promise((resolve) => child.on('exit', resolve));
    expect(out).toContain('Ctrl-C -- query killed');
    expect(out).toContain('ERROR 1317');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses a KILL of a thread the session does not own, and forms it cannot map', async () => {
    const client = await connect();
    try {
      const serverThread = Number(target.sql('SELECT CONNECTION_ID()').trim());
      await expect(client.query(`KILL QUERY ${serverThread + 100000}`)).rejects.toThrow(/not owner of thread/);
      // Every other form is administration, decided by policy (the default denies it).
      await expect(client.query(`KILL ${client.threadId}`)).rejects.toThrow(
        /denied by rule "no-server-administration"/,
      );
      await expect(client.query('KILL USER root')).rejects.toThrow(/denied/);
      await expect(client.query('KILL QUERY ID 5')).rejects.toThrow(/denied/);
    } finally {
      await client.end();
    }
  });
});
