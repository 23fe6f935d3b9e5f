import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { findLeak } from './masking-fixture.ts';

const SCHEMA = `
CREATE TABLE secrets (id int PRIMARY KEY, a text, b text, c varchar(80), plain text);
INSERT INTO secrets VALUES (1, 'x', 'y', 'z', 'hello');
CREATE VIEW secrets_v AS SELECT id, a, b, c, plain FROM secrets;
`;

const POLICY = `
masking:
  - connections: ["*"]
    columns:
      - { column: "public.secrets.a", keep_last: 0 }
      - { column: "public.secrets.b", keep_last: 2 }
      - { column: "public.secrets.c", keep_last: 0 }
    detectors: [payment_card, email]
`;

let db: TestDatabase;
let gateway: GatewayUnderTest;
let direct: pg.Client;
let client: pg.Client;
const received: Buffer[] = [];

beforeAll(async () => {
  db = await createTestDatabase(SCHEMA);
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-masking-prop-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(path.join(policies, 'masking.yaml'), POLICY);
  gateway = await startTestGateway(db, { policies });
  direct = new pg.Client({ host: db.host, port: db.port, user: db.user, database: db.database });
  await direct.connect();
  const socket = new net.Socket();
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  client = new pg.Client({ connectionString: gateway.url, stream: () => socket });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await direct?.end();
  await gateway?.close();
  await db?.drop();
});

type Wrap = (e: string) => string;
const WRAPPERS: Record<string, Wrap> = {
  upper: (e) => `upper(${e})`,
  concat_op: (e) => `(${e} || '')`,
  prefix_op: (e) => `('<' || ${e})`,
  bytea: (e) => `(${e})::text::bytea`,
  substr: (e) => `substr(${e}, 1, 12)`,
  concat: (e) => `concat(${e}, '!')`,
  format: (e) => `format('%s', ${e})`,
  coalesce: (e) => `coalesce(${e}, '')`,
  json: (e) => `json_build_object('k', ${e})::text`,
  scalar: (e) => `(SELECT ${e})`,
  cast_text: (e) => `(${e})::text`,
};

const SOURCES: Record<string, string> = {
  table: 'secrets t',
  subquery: '(SELECT * FROM secrets) t',
  cte: 'x t',
  view: 'secrets_v t',
  union: "(SELECT * FROM secrets UNION ALL SELECT 0, 'p', 'q', 'r', 's') t",
};

/** A SELECT that reads `column` of the chosen source through the chosen wrappers (or a row/aggregate form). */
function buildSql(column: string, source: string, wraps: string[], form: 'expr' | 'row' | 'agg'): string {
  const with_ = source === 'cte' ? 'WITH x AS (SELECT * FROM secrets) ' : '';
  let expr = `t.${column}`;
  for (const w of wraps) expr = WRAPPERS[w]!(expr);
  if (form === 'row') expr = `row_to_json(t)::text`;
  if (form === 'agg') expr = `array_agg(${expr})::text`;
  return `${with_}SELECT ${expr} AS out, t.plain FROM ${SOURCES[source]}${form === 'agg' ? ' GROUP BY t.plain' : ''}`;
}

describe('masking property', () => {
  it('never lets a value of a masked column reach the client, whatever wrappers select it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9]{12,24}$/),
        fc.constantFrom('a', 'b', 'c'),
        fc.constantFrom(...Object.keys(SOURCES)),
        fc.array(fc.constantFrom(...Object.keys(WRAPPERS)), { minLength: 0, maxLength: 3 }),
        fc.constantFrom<'expr' | 'row' | 'agg'>('expr', 'expr', 'row', 'agg'),
        async (secret, column, source, wraps, form) => {
          await direct.query(`UPDATE secrets SET ${column} = $1 WHERE id = 1`, [secret]);
          const sql = buildSql(column, source, wraps, form);
          received.length = 0;
          let failure = '';
          try {
            await client.query(sql);
          } catch (error) {
            failure = (error as Error).message;
          }
          const bytes = Buffer.concat(received);
          expect(findLeak(bytes, [secret]), `${sql} ${failure}`).toBeNull();
          await direct.query(`UPDATE secrets SET ${column} = 'x' WHERE id = 1`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('shows a value of an unmasked column selected the same way', async () => {
    await direct.query("UPDATE secrets SET plain = 'visible-value-123' WHERE id = 1");
    received.length = 0;
    const res = await client.query(
      'WITH x AS (SELECT * FROM secrets) SELECT upper(t.plain) AS out FROM x t WHERE t.id = 1',
    );
    expect(res.rows[0].out).toBe('VISIBLE-VALUE-123');
    expect(Buffer.concat(received).toString('latin1')).toContain('VISIBLE-VALUE-123');
  });
});
