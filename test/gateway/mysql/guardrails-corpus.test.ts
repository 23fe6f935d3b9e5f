import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createMariaDbTarget,
  mariaDbAvailable,
  NO_MARIADB,
  type MariaDbTestTarget,
} from '../../support/mariadb-target.ts';
import { MYSQL_TEST_TOKEN, startMysqlTestGateway } from '../../support/mysql-gateway.ts';

interface GuardrailCase {
  sql: string;
  via?: 'prepared';
  guard: 'allow' | 'deny';
  read_only: 'allow' | 'deny';
}
const corpus = parse(readFileSync('test/fixtures/corpus/mysql/guardrails.yaml', 'utf8')) as { cases: GuardrailCase[] };
const fixture = readFileSync('test/fixtures/corpus/mysql/fixture.sql', 'utf8');
const READ_ONLY = readFileSync('policies/examples/read-only.yaml', 'utf8');

if (!mariaDbAvailable()) console.warn(NO_MARIADB);

/** Everything a statement could change in the fixture, as one comparable snapshot. */
function snapshot(target: MariaDbTestTarget): string {
  return target.sql(
    "SELECT (SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = DATABASE()), (SELECT GROUP_CONCAT(CONCAT(id, ':', total, ':', status) ORDER BY id) FROM orders), (SELECT GROUP_CONCAT(CONCAT(id, ':', COALESCE(email, '-')) ORDER BY id) FROM customers)",
  );
}

for (const baseline of ['guard', 'read_only'] as const) {
  describe.runIf(mariaDbAvailable())(`the MySQL guardrails corpus through the gateway, ${baseline} baseline`, () => {
    let target: MariaDbTestTarget;
    let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;
    let connection: mysql.Connection;

    beforeAll(async () => {
      target = createMariaDbTarget();
      target.sql(fixture);
      // read_only: the read-only example alone (the default policy would allow the writes).
      gateway = await startMysqlTestGateway(
        target,
        baseline === 'read_only' ? READ_ONLY : '',
        'required',
        baseline === 'read_only',
      );
      connection = await mysql.createConnection({
        host: '127.0.0.1',
        port: gateway.mysqlPort,
        user: 'ci',
        password: MYSQL_TEST_TOKEN,
        database: 'app-db',
        enableCleartextPlugin: true,
        multipleStatements: true,
      });
    });
    afterAll(async () => {
      await connection?.end();
      await gateway?.close();
      target?.drop();
    });

    for (const c of corpus.cases) {
      it(`${c[baseline] === 'allow' ? 'allows' : 'denies'} ${JSON.stringify(c.sql)}${c.via ? ' (prepared)' : ''}`, async () => {
        const before = snapshot(target);
        const send = c.via === 'prepared' ? connection.execute(c.sql) : connection.query(c.sql);
        const error = await send.then(
          () => undefined,
          (e: { errno?: number; message: string }) => e,
        );
        if (c[baseline] === 'allow') {
          expect(error?.message ?? '').not.toMatch(/gatehouse/);
        } else {
          expect(error?.errno, error?.message).toBe(1142);
          expect(error!.message).toMatch(/gatehouse: denied by rule "[^"]+"/);
          expect(snapshot(target)).toBe(before);
        }
      });
    }
  });
}
