import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { startLocalProxy } from '../../../gateway/client/local-proxy.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMariaDbTarget,
  mariaDbAvailable,
  NO_MARIADB,
  type MariaDbTestTarget,
} from '../../support/mariadb-target.ts';
import { MYSQL_TEST_TOKEN, startMysqlTestGateway } from '../../support/mysql-gateway.ts';

const run = promisify(execFile);
if (!mariaDbAvailable()) console.warn(NO_MARIADB);

const REVIEW_UPDATES = `identities:
  - { name: ci-jobs, claims: { repository: acme/app }, connections: [app-db] }
rules:
  - name: review-order-updates
    action: review
    when: { command: [UPDATE], tables_written: [orders] }
    reason: 'Order updates need a human'
`;

describe.runIf(mariaDbAvailable())('the gateway with a MySQL connection (policy, approvals, audit)', () => {
  let target: MariaDbTestTarget;
  let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;

  beforeAll(async () => {
    target = createMariaDbTarget();
    target.sql('CREATE TABLE orders (id INT PRIMARY KEY, total INT); INSERT INTO orders VALUES (1, 10), (2, 20)');
    gateway = await startMysqlTestGateway(target, REVIEW_UPDATES);
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
      multipleStatements: true,
    });

  async function cli(sql: string): Promise<string> {
    try {
      const { stdout, stderr } = await run('mariadb', [
        '--skip-ssl',
        '-h127.0.0.1',
        `-P${gateway.mysqlPort}`,
        '-uci',
        `-p${MYSQL_TEST_TOKEN}`,
        'app-db',
        '-e',
        sql,
      ]);
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  }

  it('allows reads and denies a DROP by the default policy, naming the rule', async () => {
    expect(await cli('SELECT SUM(total) FROM orders')).toContain('30');
    const out = await cli('DROP TABLE orders');
    expect(out).toContain('ERROR 1142 (42000)');
    expect(out).toContain('denied by rule "no-drop-or-truncate"');
    expect(target.sql('SELECT COUNT(*) FROM orders').trim()).toBe('2');
  });

  it('denies what it cannot analyse, a smuggled DROP and an unbounded DELETE', async () => {
    const c = await connect();
    await expect(c.query('CALL mystery()')).rejects.toThrow(/procedure mystery does not exist in the target's catalog/);
    await expect(c.query('/*!50000 DROP TABLE orders */')).rejects.toThrow(/no-drop-or-truncate/);
    await expect(c.query('SELECT 1; DELETE FROM orders')).rejects.toThrow(/no-unbounded-writes/);
    await expect(c.query("SELECT * FROM orders INTO OUTFILE '/tmp/x'")).rejects.toThrow(/no-server-files/);
    expect(target.sql('SELECT COUNT(*) FROM orders').trim()).toBe('2');
    await c.end();
  });

  it('holds an UPDATE until it is approved, then runs it', async () => {
    const c = await connect();
    const update = c.execute('UPDATE orders SET total = total + 1 WHERE id = ?', [1]);
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      id = /held for approval (\S+)/.exec(gateway.logs.join('\n'))?.[1];
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    expect(id).toBeDefined();
    expect(target.sql('SELECT total FROM orders WHERE id = 1').trim()).toBe('10');
    await gateway.broker.decide(id!, { approved: true, by: ['cli:ops'] });
    await update;
    expect(target.sql('SELECT total FROM orders WHERE id = 1').trim()).toBe('11');
    await c.end();
  });

  it('creates a procedure whose body it analysed, sent whole by the mariadb client after DELIMITER', async () => {
    const script =
      'DELIMITER //\nCREATE PROCEDURE bump(IN n INT) BEGIN UPDATE orders SET total = total + n WHERE id = 2; SELECT total FROM orders WHERE id = 2; END //\nDELIMITER ;\n';
    const out = await script_(script);
    expect(out).toBe('');
    expect(target.sql("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_NAME = 'bump'").trim()).toBe('1');
    // The CALL is judged by the body the server will run: its UPDATE of orders is held for review.
    const before = gateway.logs.length;
    const called = script_('CALL bump(0);\n');
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      id = /held for approval (\S+)/.exec(gateway.logs.slice(before).join('\n'))?.[1];
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    expect(id).toBeDefined();
    expect(target.sql('SELECT total FROM orders WHERE id = 2').trim()).toBe('20');
    await gateway.broker.decide(id!, { approved: true, by: ['cli:ops'] });
    expect(await called).toContain('20');
  });

  it('serves the mariadb client and mysql2 through gatehouse connect, with the local password only', async () => {
    const key = await loadDevIssuerKey(gateway.store);
    const token = await mintDevToken(key, 'http://gatehouse.test', { repository: 'acme/app' }, systemClock);
    const proxy = await startLocalProxy({
      gateway: gateway.httpUrl,
      credential: { oidcToken: token },
      connections: [{ name: 'app-db' }],
    });
    try {
      const local = proxy.ready.connections[0]!;
      expect(local).toMatchObject({ type: 'mysql', user: 'ci', database: 'app-db' });
      expect(local.url).toBe(`mysql://ci:${local.password}@127.0.0.1:${local.port}/app-db`);
      const args = [
        '--skip-ssl',
        '-h127.0.0.1',
        `-P${local.port}`,
        '-uci',
        'app-db',
        '-N',
        '-e',
        'SELECT COUNT(*) FROM orders',
      ];
      expect((await run('mariadb', [`-p${local.password}`, ...args])).stdout.trim()).toBe('2');
      const wrong = await run('mariadb', ['-pnot-the-password', ...args]).catch((e) => e.stderr as string);
      expect(wrong).toContain('gatehouse connect: password authentication failed');
      const c = await mysql.createConnection({ uri: local.url });
      const [rows] = await c.execute<mysql.RowDataPacket[]>('SELECT total FROM orders WHERE id = ?', [2]);
      expect(rows[0]!.total).toBe(20);
      await expect(c.query('DROP TABLE orders')).rejects.toThrow(/no-drop-or-truncate/);
      await c.end();
    } finally {
      await proxy.close({ endSession: true });
    }
  });

  function script_(input: string): Promise<string> {
    return new Promise((resolve) => {
      const child = spawn('mariadb', [
        '--skip-ssl',
        '-h127.0.0.1',
        `-P${gateway.mysqlPort}`,
        '-uci',
        `-p${MYSQL_TEST_TOKEN}`,
        'app-db',
      ]);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', () => resolve(out));
      child.stdin.end(input);
    });
  }
});
