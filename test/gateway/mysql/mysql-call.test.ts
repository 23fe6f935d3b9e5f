import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
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

describe.runIf(mariaDbAvailable())('CALL decided by the procedure the target resolves (real MariaDB)', () => {
  let target: MariaDbTestTarget;
  let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;

  beforeAll(async () => {
    target = createMariaDbTarget();
    target.sql(
      [
        'CREATE TABLE orders (id INT PRIMARY KEY, total INT)',
        'INSERT INTO orders VALUES (1, 10), (2, 20)',
        'CREATE PROCEDURE hidden_body() SELECT 1',
      ].join(';'),
    );
    // Created by the gateway's own account, so information_schema shows it the bodies.
    asTargetUser(
      'CREATE PROCEDURE order_total() SELECT SUM(total) AS total FROM orders;\nDELIMITER //\nCREATE PROCEDURE wipe_orders() BEGIN SELECT 1; DROP TABLE orders; END//\nDELIMITER ;\n',
    );
    gateway = await startMysqlTestGateway(target);
  });
  afterAll(async () => {
    await gateway?.close();
    target?.drop();
  });

  function asTargetUser(sql: string): void {
    execFileSync('mariadb', ['-h127.0.0.1', `-u${target.user}`, `-p${target.password}`, target.database, '-e', sql]);
  }

  async function cli(sql: string): Promise<string> {
    const args = ['--skip-ssl', '-h127.0.0.1', `-P${gateway.mysqlPort}`, '-uci', `-p${MYSQL_TEST_TOKEN}`, '-N', '-B'];
    try {
      const { stdout, stderr } = await run('mariadb', [...args, 'app-db', '-e', sql]);
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  }

  it('runs a procedure whose body the policy allows, qualified or not', async () => {
    expect(await cli('CALL order_total()')).toBe('30\n');
    expect(await cli(`CALL ${target.database}.order_total()`)).toBe('30\n');
  });

  it('judges the body: a procedure that drops a table is denied by the DROP rule', async () => {
    const out = await cli('CALL wipe_orders()');
    expect(out).toContain('ERROR 1142');
    expect(out).toContain('no-drop-or-truncate');
    expect(target.sql('SELECT COUNT(*) FROM orders').trim()).toBe('2');
  });

  it("treats a procedure whose body the gateway's account may not read as unknown (denied by default)", async () => {
    const out = await cli('CALL hidden_body()');
    expect(out).toContain('ERROR 1142');
    expect(out).toContain("whose body the gateway's account may not read");
  });

  it('refuses a procedure the catalog does not know, saying so', async () => {
    const out = await cli('CALL no_such_proc()');
    expect(out).toContain('ERROR 1305');
    expect(out).toContain("procedure no_such_proc does not exist in the target's catalog");
  });
});
