import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
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

const MASKING = (db: string) => `identities:
  - { name: ci-jobs, claims: { repository: acme/app }, connections: [app-db] }
masking:
  - connections: [app-db]
    columns:
      - { column: ${db}.customers.ssn }
      - { column: ${db}.customers.card, keep_last: 4 }
      - { column: ${db}.customers.balance }
    detectors: [email]
`;

describe.runIf(mariaDbAvailable())('masking on MySQL result sets (real MariaDB, mariadb client and mysql2)', () => {
  let target: MariaDbTestTarget;
  let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;

  beforeAll(async () => {
    target = createMariaDbTarget();
    target.sql(
      [
        'CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40), ssn VARCHAR(20), card VARCHAR(20), balance INT, notes TEXT)',
        "INSERT INTO customers VALUES (1, 'ann', '123-45-6789', '4111111111111111', 500, 'mail ann@example.com'), (2, 'bob', '987-65-4321', '5500000000000004', 700, 'none')",
        'CREATE TABLE plain (id INT, name VARCHAR(40))',
        "INSERT INTO plain VALUES (1, 'visible')",
        'CREATE VIEW customer_ids AS SELECT id, ssn AS tax_id FROM customers',
        'CREATE VIEW plain_view AS SELECT id, name FROM plain',
      ].join(';'),
    );
    gateway = await startMysqlTestGateway(target, MASKING(target.database));
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
    const args = ['--skip-ssl', '-h127.0.0.1', `-P${gateway.mysqlPort}`, '-uci', `-p${MYSQL_TEST_TOKEN}`, '-N', '-B'];
    try {
      const { stdout, stderr } = await run('mariadb', [...args, 'app-db', '-e', sql]);
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  }

  it('masks a masked column by the origin the server reports, under any alias, with the mariadb client', async () => {
    expect(await cli('SELECT id, name, ssn FROM customers ORDER BY id')).toBe('1\tann\t****\n2\tbob\t****\n');
    expect(await cli('SELECT ssn AS s, c.card AS last4 FROM customers c WHERE id = 1')).toBe('****\t****1111\n');
    expect(await cli('SELECT balance FROM customers WHERE id = 2')).toBe('NULL\n');
  });

  it('masks expressions, views and UNIONs over masked columns whole, and leaves unmasked data alone', async () => {
    expect(await cli("SELECT CONCAT(name, '/', ssn) FROM customers WHERE id = 1")).toBe('****\n');
    expect(await cli("SELECT CONCAT(name, '!') FROM customers WHERE id = 1")).toBe('ann!\n');
    expect(await cli('SELECT id, tax_id FROM customer_ids ORDER BY id')).toBe('1\t****\n2\t****\n');
    expect(await cli('SELECT id FROM customer_ids ORDER BY tax_id')).toContain('denied by rule "masking"');
    expect(await cli('SELECT name FROM customers WHERE id = 1 UNION ALL SELECT ssn FROM customers WHERE id = 1')).toBe(
      '****\n****\n',
    );
    expect(await cli('SELECT x FROM (SELECT ssn AS x FROM customers) d')).toBe('****\n****\n');
    expect(await cli('SELECT name FROM plain_view')).toBe('visible\n');
    expect(await cli('SELECT (SELECT ssn FROM customers WHERE id = 1) AS q')).toBe('****\n');
  });

  it('runs the detectors over every value left in clear', async () => {
    expect(await cli('SELECT notes FROM customers ORDER BY id')).toBe('mail ****\nnone\n');
  });

  it('refuses what would let a masked value decide rows or leave unmasked', async () => {
    for (const sql of [
      "SELECT name FROM customers WHERE ssn LIKE '1%'",
      'SELECT name FROM customers ORDER BY ssn',
      'SELECT DISTINCT ssn FROM customers',
      'SELECT @x := ssn FROM customers',
      'CREATE TABLE copied AS SELECT ssn FROM customers',
      'UPDATE plain SET name = (SELECT ssn FROM customers WHERE id = 1)',
      'RENAME TABLE customers TO leaked',
      'ALTER TABLE customers RENAME COLUMN ssn TO s',
    ]) {
      const out = await cli(sql);
      expect(out, sql).toContain('ERROR 1142');
      expect(out, sql).toContain('denied by rule "masking"');
    }
    expect(target.sql("SHOW TABLES LIKE 'leaked'")).toBe('');
  });

  it('masks text and binary (prepared) rows with mysql2, NULL for masked numbers', async () => {
    const client = await connect();
    try {
      const [text] = await client.query('SELECT id, ssn, card, balance, name FROM customers WHERE id = 1');
      expect(text).toEqual([{ id: 1, ssn: '****', card: '****1111', balance: null, name: 'ann' }]);
      const [binary] = await client.execute('SELECT id, ssn, card, balance, name FROM customers WHERE id = ?', [2]);
      expect(binary).toEqual([{ id: 2, ssn: '****', card: '****0004', balance: null, name: 'bob' }]);
      const [expr] = await client.execute(
        "SELECT CONCAT(ssn, '') AS e, balance + 1 AS b FROM customers WHERE id = ?",
        [1],
      );
      expect(expr).toEqual([{ e: '****', b: null }]);
    } finally {
      await client.end();
    }
  });

  it('hides the server error of a statement over masked data', async () => {
    const out = await cli('SELECT EXTRACTVALUE(1, CONCAT(0x7e, ssn)) FROM customers WHERE id = 1');
    expect(out).toContain('ERROR 1105');
    expect(out).not.toContain('123-45-6789');
    expect(out).toContain('error message is hidden');
  });
});
