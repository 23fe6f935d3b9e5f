import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createMariaDbTarget } from '../test/support/mariadb-target.ts';
import { MYSQL_TEST_TOKEN, startMysqlTestGateway } from '../test/support/mysql-gateway.ts';
import type { BenchRow } from './bench-table.ts';

const run = promisify(execFile);

/** Seconds mariadb-slap reports for one round of all its queries (the average over its iterations). */
async function slap(port: number, user: string, password: string, database: string, query: string): Promise<number> {
  const { stdout } = await run('mariadb-slap', [
    '--skip-ssl',
    '-h127.0.0.1',
    `-P${port}`,
    `-u${user}`,
    `-p${password}`,
    `--create-schema=${database}`,
    '--no-drop',
    '--concurrency=8',
    '--iterations=3',
    '--number-of-queries=8000',
    `--query=${query}`,
  ]);
  const seconds = Number(/Average number of seconds to run all queries: ([\d.]+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(seconds)) throw new Error(`mariadb-slap printed no timing: ${stdout.slice(0, 200)}`);
  return seconds;
}

/**
 * mariadb-slap, 8 clients, 8000 point SELECTs, direct and through the gateway (default policy,
 * embedded store; audit required and best-effort) in the same run; the ratio is direct time / gateway time.
 */
export async function benchMariadbSlap(): Promise<BenchRow[]> {
  const target = createMariaDbTarget();
  const gateways = [await startMysqlTestGateway(target), await startMysqlTestGateway(target, '', 'best-effort')];
  try {
    target.sql(
      'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_1000',
    );
    const query = 'SELECT v FROM t WHERE id = 42';
    const direct = await slap(3306, target.user, target.password, target.database, query);
    const rows: BenchRow[] = [];
    for (const [i, gateway] of gateways.entries()) {
      const through = await slap(gateway.mysqlPort, 'app-db', MYSQL_TEST_TOKEN, target.database, query);
      rows.push({
        benchmark: `mariadb-slap, 8 clients, 8000 point SELECTs (text protocol), audit ${i === 0 ? 'required' : 'best-effort'}`,
        direct: `${direct.toFixed(3)} s`,
        gateway: `${through.toFixed(3)} s`,
        ratio: (direct / through).toFixed(2),
        goal: i === 0 ? '≥ 0.50' : '',
      });
    }
    return rows;
  } finally {
    for (const gateway of gateways) await gateway.close();
    target.drop();
  }
}
