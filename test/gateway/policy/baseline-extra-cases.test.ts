import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyEngine } from '../../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import type { Identity } from '../../../gateway/policy/actions-and-decisions.ts';
import { loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../../../gateway/sql/connection-analyzer.ts';

type Verdict = 'allow' | 'deny';
/** [sql run in order on one connection, guard verdict of the last query, read_only verdict of the last query] */
const CASES: [string[], Verdict, Verdict][] = [
  [['/* DROP TABLE orders */ SELECT 1 -- TRUNCATE orders'], 'allow', 'allow'],
  [["SELECT $body$ DELETE FROM orders; $body$, E'\\' ; DROP TABLE orders'"], 'allow', 'allow'],
  [['SELECT "drop table", "delete" FROM (SELECT 1 AS "drop table", 2 AS "delete") t'], 'allow', 'allow'],
  [
    ['WITH a AS (SELECT 1), b AS (WITH c AS (DELETE FROM orders RETURNING *) SELECT * FROM c) SELECT * FROM b'],
    'deny',
    'deny',
  ],
  [['WITH a AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM a'], 'allow', 'deny'],
  [['UPDATE orders SET total = 0 WHERE true'], 'deny', 'deny'],
  [['DELETE FROM orders WHERE 1=1'], 'deny', 'deny'],
  [["DELETE FROM orders WHERE id = 1 OR 'x' = 'x'"], 'deny', 'deny'],
  [['SELECT * FROM orders FOR UPDATE'], 'allow', 'deny'],
  [['SELECT * FROM orders FOR SHARE SKIP LOCKED'], 'allow', 'deny'],
  [['SET ROLE postgres'], 'deny', 'deny'],
  [['SET SESSION AUTHORIZATION postgres'], 'deny', 'deny'],
  [["select set_config('role','postgres',false)"], 'deny', 'deny'],
  [["SELECT pg_catalog.set_config('session_authorization', 'postgres', true)"], 'deny', 'deny'],
  [["COPY orders FROM '/etc/passwd'"], 'deny', 'deny'],
  [["COPY orders TO '/tmp/orders.csv'"], 'deny', 'deny'],
  [['COPY orders TO STDOUT'], 'allow', 'allow'],
  [['COPY orders FROM STDIN'], 'allow', 'deny'],
  [['PREPARE p AS DELETE FROM orders; EXECUTE p'], 'deny', 'deny'],
  [['PREPARE p AS SELECT * FROM orders', 'EXECUTE p'], 'allow', 'allow'],
  [['PREPARE p AS DELETE FROM orders WHERE id = 1', 'DEALLOCATE p', 'EXECUTE p'], 'deny', 'deny'],
  [['EXECUTE never_prepared'], 'deny', 'deny'],
  [['EXPLAIN (ANALYZE, FORMAT JSON) UPDATE orders SET total = 0'], 'deny', 'deny'],
  [['EXPLAIN UPDATE orders SET total = 0'], 'allow', 'allow'],
  [['EXPLAIN ANALYZE SELECT * FROM orders'], 'allow', 'deny'],
  [['MERGE INTO orders o USING (SELECT 1 AS id) s ON true WHEN MATCHED THEN DELETE'], 'deny', 'deny'],
  [['SELECT * INTO stash FROM customers'], 'allow', 'deny'],
  [['CALL cleanup()'], 'deny', 'deny'],
  [["SELECT lo_export(1234, '/tmp/x')"], 'deny', 'deny'],
  [["SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(x int)"], 'deny', 'deny'],
  [['SELECT pg_cancel_backend(1)'], 'deny', 'deny'],
  [["SELECT query_to_xml('DELETE FROM orders RETURNING 1', true, true, '')"], 'deny', 'deny'],
  [["CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT pg_read_file('/etc/passwd') $$"], 'deny', 'deny'],
  [['CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$'], 'deny', 'deny'],
  [['CREATE EXTENSION IF NOT EXISTS dblink'], 'deny', 'deny'],
  [['ALTER TABLE orders DROP COLUMN status'], 'deny', 'deny'],
  [['ALTER TABLE orders ADD COLUMN note text'], 'allow', 'deny'],
  [['DROP INDEX IF EXISTS orders_total_idx'], 'deny', 'deny'],
  [['CREATE ROLE intruder SUPERUSER'], 'deny', 'deny'],
  [['SET standard_conforming_strings = off'], 'deny', 'deny'],
  [['SET statement_timeout = 5000'], 'allow', 'allow'],
  [['BEGIN; SELECT 1; COMMIT'], 'allow', 'allow'],
  [['BEGIN; DELETE FROM orders WHERE id = 1; COMMIT'], 'allow', 'deny'],
  [["SELECT nextval('orders_id_seq')"], 'allow', 'deny'],
  [['SELECT evil.lower(name) FROM customers'], 'allow', 'deny'],
  [['VACUUM orders'], 'deny', 'deny'],
  [['SELEC * FROM orders'], 'deny', 'deny'],
];

const identity: Identity = { sessionId: 'extra', claims: {}, identityRule: 'extra' };
const load = (path: string) =>
  createPolicyEngine(
    parsePolicyFiles([{ file: path, text: readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8') }]),
  );

let engines: Record<'guard' | 'read_only', PolicyEngine>;
beforeAll(async () => {
  await loadSqlParser();
  engines = { guard: load('policies/default.yaml'), read_only: load('policies/examples/read-only.yaml') };
});

function lastDecision(engine: PolicyEngine, queries: string[]) {
  const analyzer = createConnectionAnalyzer();
  let decision;
  for (const sql of queries) {
    const statements = analyzer.analyzeQuery(sql);
    decision = engine.decide({ type: 'pg.query', via: 'simple', sql, statements, connection: 'app-db', identity });
    // Each earlier query ran to completion on the server (a DEALLOCATE takes effect only then).
    for (const statement of statements) analyzer.statementCompleted(statement);
  }
  return decision!;
}

describe('the shipped baselines on hand-written cases', () => {
  it.each(CASES)('decide %j as guard=%s, read_only=%s', (queries, guard, readOnly) => {
    expect(lastDecision(engines.guard, queries).action).toBe(guard);
    expect(lastDecision(engines.read_only, queries).action).toBe(readOnly);
  });

  it('denies the FunctionCall message under both baselines', () => {
    for (const engine of Object.values(engines)) {
      expect(
        engine.decide({ type: 'pg.function-call', functionOid: 2620, connection: 'app-db', identity }),
      ).toMatchObject({ action: 'deny', rule: 'default-deny' });
    }
  });
});
