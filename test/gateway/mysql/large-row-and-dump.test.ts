import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMariaDbTarget,
  mariaDbAvailable,
  mariaSql,
  NO_MARIADB,
  randomName,
  type MariaDbTestTarget,
} from '../../support/mariadb-target.ts';
import { MYSQL_TEST_TOKEN, startMysqlTestGateway } from '../../support/mysql-gateway.ts';
import { canStartPrivateMariaDb, startPrivateMariaDb, type PrivateMariaDb } from '../../support/private-mariadb.ts';

const run = promisify(execFile);
if (!mariaDbAvailable()) console.warn(NO_MARIADB);

function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

// The shared server's max_allowed_packet is 16 MB and must not be changed: a private server sends the row.
describe.runIf(canStartPrivateMariaDb)('a 100 MB row through the MySQL adapter', () => {
  let server: PrivateMariaDb;
  let child: ChildProcess;
  let port: number;
  const password = 'big-row-pw';
  beforeAll(async () => {
    server = await startPrivateMariaDb(['--max-allowed-packet=256M']);
    server.sql(
      `CREATE DATABASE big; CREATE USER 'big'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL ON big.* TO 'big'@'127.0.0.1'`,
    );
    const url = `mysql://big@127.0.0.1:${server.port}/big`;
    child = spawn(process.execPath, ['--import', 'tsx', 'test/support/mysql-adapter-process.ts', url, password], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    port = await new Promise<number>((resolve) =>
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
  }, 60_000);
  afterAll(async () => {
    child?.kill();
    await server?.stop();
  });

  it('streams it whole (split packets reassembled) while the gateway holds a few copies of it at most', async () => {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: 'ci',
      password: MYSQL_TEST_TOKEN,
      database: 'app-db',
      enableCleartextPlugin: true,
    });
    const before = peakRssMb(child.pid!);
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT REPEAT('x', 100 * 1024 * 1024) AS big, 7 AS n");
    expect((rows[0]!.big as string).length).toBe(100 * 1024 * 1024);
    expect(rows[0]!.n).toBe(7);
    const [after] = await c.query<mysql.RowDataPacket[]>('SELECT 1 AS ok');
    expect(after[0]!.ok).toBe(1);
    await c.end();
    const grown = peakRssMb(child.pid!) - before;
    console.log(`gateway peak RSS grew by ${Math.round(grown)} MB for a 100 MB row`);
    expect(grown).toBeLessThan(260);
  }, 120_000);
});

describe.runIf(mariaDbAvailable())('mariadb-dump through the gateway', () => {
  let target: MariaDbTestTarget;
  let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;
  const restored = randomName('gh_restore');
  beforeAll(async () => {
    target = createMariaDbTarget();
    target.sql(
      [
        'SET NAMES utf8mb4',
        'CREATE TABLE orders (id INT PRIMARY KEY, note TEXT, raw BLOB, at DATETIME(3), amount DECIMAL(10,2), f DOUBLE, tag ENUM("a","b")) CHARSET utf8mb4',
        "INSERT INTO orders VALUES (1, 'it''s \\\\ a \"quote\" ünïcode 🙂', x'00ff10', '2024-01-02 03:04:05.678', 12.34, 1.5e-3, 'b'), (2, NULL, NULL, NULL, NULL, NULL, NULL)",
        'CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload JSON)',
        'INSERT INTO events (payload) SELECT JSON_OBJECT("n", seq) FROM seq_1_to_500',
        'CREATE VIEW big_orders AS SELECT id FROM orders WHERE amount > 10',
      ].join(';'),
    );
    gateway = await startMysqlTestGateway(target);
  });
  afterAll(async () => {
    await gateway?.close();
    mariaSql(`DROP DATABASE IF EXISTS ${restored}`);
    target?.drop();
  });

  it('dumps with the default policy and restores directly to the same CHECKSUM TABLE', async () => {
    const { stdout } = await run(
      'mariadb-dump',
      [
        '--skip-ssl',
        '-h127.0.0.1',
        `-P${gateway.mysqlPort}`,
        '-uapp-db',
        `-p${MYSQL_TEST_TOKEN}`,
        '--single-transaction',
        target.database,
      ],
      { maxBuffer: 1 << 26, encoding: 'buffer' },
    );
    // The dump holds the blob's raw bytes: it is kept as bytes, never decoded as text.
    expect(stdout.toString('latin1')).toContain('CREATE TABLE `orders`');
    mariaSql(`CREATE DATABASE ${restored}`);
    await new Promise<void>((resolve, reject) => {
      const restore = spawn('mariadb', ['-h127.0.0.1', '-uroot', restored]);
      restore.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`restore exited ${code}`))));
      restore.stdin.end(stdout);
    });
    const sums = (db: string) =>
      mariaSql('CHECKSUM TABLE orders, events', 3306, db)
        .split('\n')
        .map((l) => l.split('\t')[1]);
    expect(sums(restored)).toEqual(sums(target.database));
    expect(mariaSql('SELECT COUNT(*) FROM events', 3306, restored).trim()).toBe('500');
    expect(mariaSql('SELECT COUNT(*) FROM big_orders', 3306, restored).trim()).toBe('1');
  });
});
