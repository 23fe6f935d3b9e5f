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

interface MaskingCase {
  sql: string;
  expect: 'masked' | 'safe' | 'clear';
  via?: 'prepared';
  params?: (string | number)[];
  values?: string[];
}
const shared = parse(readFileSync('test/fixtures/corpus/masking.yaml', 'utf8')) as { sensitive: string[] };
const corpus = parse(readFileSync('test/fixtures/corpus/mysql/masking.yaml', 'utf8')) as { cases: MaskingCase[] };
const fixture = readFileSync('test/fixtures/corpus/mysql/fixture.sql', 'utf8');

if (!mariaDbAvailable()) console.warn(NO_MARIADB);

const POLICY = `masking:
  - columns:
      - { column: "*.customers.email" }
      - { column: "*.customers.card_number", keep_last: 4 }
      - { column: "*.customers.ssn" }
      - { column: "*.customers.api_token" }
    detectors: [payment_card, email, us_ssn, jwt, aws_access_key, github_token, private_key]
`;

/** The forms a leak can take (the shared corpus's definition): the value, its digits, 8-character windows, reverse, hex, base64. */
function leakForms(value: string): string[] {
  const forms = [
    value,
    [...value].reverse().join(''),
    Buffer.from(value).toString('hex'),
    Buffer.from(value).toString('base64'),
  ];
  const digits = value.replace(/\D/g, '');
  if (digits.length >= 8) forms.push(digits);
  for (let i = 0; i + 8 <= value.length; i++) forms.push(value.slice(i, i + 8));
  return forms.map((f) => f.toLowerCase());
}

function leaks(received: string): string[] {
  const text = received.toLowerCase();
  const squashed = text.replace(/[^0-9a-z@.]/g, '');
  return shared.sensitive.filter((value) => leakForms(value).some((f) => text.includes(f) || squashed.includes(f)));
}

function render(result: unknown): string {
  return JSON.stringify(result, (_, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
}

describe.runIf(mariaDbAvailable())(
  'the masking corpus in MySQL syntax through the gateway (real MariaDB, mysql2)',
  () => {
    let target: MariaDbTestTarget;
    let gateway: Awaited<ReturnType<typeof startMysqlTestGateway>>;
    let connection: mysql.Connection;

    beforeAll(async () => {
      target = createMariaDbTarget();
      target.sql(fixture);
      gateway = await startMysqlTestGateway(target, POLICY);
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
      it(`${c.expect}: ${c.sql}${c.via ? ` (${c.via})` : ''}`, async () => {
        let received: string;
        let failed = false;
        try {
          const [rows] =
            c.via === 'prepared' ? await connection.execute(c.sql, c.params ?? []) : await connection.query(c.sql);
          received = render(rows);
        } catch (error) {
          failed = true;
          received = (error as Error).message;
        }
        expect(leaks(received), received).toEqual([]);
        if (c.expect !== 'safe') expect(failed, received).toBe(false);
        for (const value of c.values ?? []) expect(received).toContain(value);
      });
    }
  },
);
