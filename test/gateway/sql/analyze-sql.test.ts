import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql, createAnalysisCache, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { flagsOf, type StatementAnalysis } from '../../../gateway/sql/statement-analysis.ts';

beforeAll(async () => {
  await loadSqlParser();
});

function one(sql: string): StatementAnalysis {
  const analyses = analyzeSql(sql);
  expect(analyses).toHaveLength(1);
  return analyses[0]!;
}

type Expect = Partial<
  Pick<
    StatementAnalysis,
    'kind' | 'command' | 'tablesRead' | 'tablesWritten' | 'functions' | 'dangerousFunctions' | 'copyDirection'
  >
> & { flags?: string[] };

const CASES: [string, Expect][] = [
  [
    'SELECT id, name FROM customers ORDER BY id',
    { kind: 'read', command: 'SELECT', tablesRead: ['customers'], tablesWritten: [], flags: [] },
  ],
  ["SELECT 'DROP TABLE customers'", { kind: 'read', command: 'SELECT', tablesRead: [], flags: [] }],
  ['SELECT $$DROP TABLE customers$$ AS text', { kind: 'read', command: 'SELECT', flags: [] }],
  ['SELECT $tag$ $$ DELETE FROM orders $$ $tag$', { kind: 'read', command: 'SELECT', tablesWritten: [], flags: [] }],
  ['-- DROP TABLE customers\nSELECT 1', { kind: 'read', command: 'SELECT' }],
  ['/* DELETE FROM orders */ SELECT 1 AS "delete"', { kind: 'read', command: 'SELECT', flags: [] }],
  ['/* cleanup */ DrOp TaBlE "orders"', { kind: 'ddl', command: 'DROP TABLE', tablesWritten: ['orders'] }],
  ['DROP TABLE IF EXISTS app.orders CASCADE', { kind: 'ddl', command: 'DROP TABLE', tablesWritten: ['app.orders'] }],
  ['DROP FUNCTION f(int)', { kind: 'ddl', command: 'DROP FUNCTION', tablesWritten: [] }],
  ['TRUNCATE orders', { kind: 'write', command: 'TRUNCATE', tablesWritten: ['orders'], flags: ['unbounded_write'] }],
  [
    'select o.id, c.name from orders o join customers c on c.id = o.customer_id',
    { kind: 'read', tablesRead: ['orders', 'customers'] },
  ],
  [
    'SELECT count(*) FROM public.orders WHERE total > 100',
    { kind: 'read', tablesRead: ['public.orders'], functions: ['count'] },
  ],
  [
    "UPDATE orders SET status = 'shipped' WHERE id = 3",
    { kind: 'write', command: 'UPDATE', tablesWritten: ['orders'], flags: [] },
  ],
  [
    'UPDATE customers SET email = NULL',
    { kind: 'write', command: 'UPDATE', tablesWritten: ['customers'], flags: ['unbounded_write'] },
  ],
  ['UPDATE t SET x = 1 WHERE true', { kind: 'write', flags: ['unbounded_write'] }],
  ['DELETE FROM t WHERE 1=1', { kind: 'write', command: 'DELETE', flags: ['unbounded_write'] }],
  ["DELETE FROM t WHERE 'a' = 'a'", { flags: ['unbounded_write'] }],
  ['DELETE FROM t WHERE id = id', { flags: ['unbounded_write'] }],
  ['DELETE FROM t WHERE id = 1 OR 1 = 1', { flags: ['unbounded_write'] }],
  ['DELETE FROM t WHERE (SELECT true)', { flags: ['unbounded_write'] }],
  ['DELETE FROM t WHERE NOT false', { flags: ['unbounded_write'] }],
  ['DELETE FROM t WHERE id = 1 AND true', { flags: [] }],
  ['DELETE FROM orders WHERE id = 100', { kind: 'write', tablesWritten: ['orders'], flags: [] }],
  [
    'DELETE FROM orders USING customers c WHERE c.id = orders.customer_id',
    { tablesWritten: ['orders'], tablesRead: ['customers'], flags: [] },
  ],
  [
    'INSERT INTO orders (id, customer_id, total) VALUES (100, 1, 9.99)',
    { kind: 'write', command: 'INSERT', tablesWritten: ['orders'], flags: [] },
  ],
  ['INSERT INTO archive SELECT * FROM orders', { kind: 'write', tablesWritten: ['archive'], tablesRead: ['orders'] }],
  [
    'WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone',
    {
      kind: 'write',
      command: 'SELECT',
      tablesWritten: ['orders'],
      tablesRead: [],
      flags: ['data_modifying_cte', 'unbounded_write'],
    },
  ],
  [
    'WITH a AS (SELECT 1), b AS (WITH c AS (UPDATE t SET x = 1 RETURNING 1) SELECT * FROM c) SELECT * FROM b',
    { kind: 'write', tablesWritten: ['t'], flags: ['data_modifying_cte', 'unbounded_write'] },
  ],
  [
    'WITH x AS (DELETE FROM orders WHERE id = 1 RETURNING id) SELECT * FROM x',
    { kind: 'write', flags: ['data_modifying_cte'] },
  ],
  [
    'EXPLAIN ANALYZE DELETE FROM orders',
    { kind: 'write', command: 'DELETE', tablesWritten: ['orders'], flags: ['explain_analyze', 'unbounded_write'] },
  ],
  [
    'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1',
    { kind: 'write', command: 'UPDATE', flags: ['explain_analyze', 'unbounded_write'] },
  ],
  [
    'EXPLAIN (ANALYZE false) DELETE FROM orders',
    { kind: 'read', command: 'EXPLAIN', tablesRead: ['orders'], tablesWritten: [], flags: [] },
  ],
  ['EXPLAIN SELECT * FROM orders', { kind: 'read', command: 'EXPLAIN', tablesRead: ['orders'], flags: [] }],
  [
    'MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE',
    { kind: 'write', command: 'MERGE', tablesWritten: ['t'], tablesRead: ['s'], flags: ['unbounded_write'] },
  ],
  [
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x',
    { kind: 'write', command: 'MERGE', flags: [] },
  ],
  ['MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE', { flags: ['unbounded_write'] }],
  [
    "COPY orders TO PROGRAM 'cat > /tmp/x'",
    { kind: 'read', command: 'COPY', copyDirection: 'to', flags: ['copy_program'] },
  ],
  ["COPY (SELECT 1) TO PROGRAM 'id'", { command: 'COPY', flags: ['copy_program'] }],
  [
    "COPY t FROM '/etc/passwd'",
    { kind: 'write', command: 'COPY', copyDirection: 'from', tablesWritten: ['t'], flags: ['copy_server_file'] },
  ],
  ['COPY orders TO STDOUT', { kind: 'read', command: 'COPY', tablesRead: ['orders'], flags: ['copy_stdio'] }],
  [
    'COPY (DELETE FROM orders RETURNING *) TO STDOUT',
    { kind: 'write', tablesWritten: ['orders'], flags: ['copy_stdio', 'unbounded_write'] },
  ],
  [
    "SELECT pg_read_file('/etc/passwd')",
    { kind: 'read', functions: ['pg_read_file'], dangerousFunctions: ['pg_read_file'], flags: ['dangerous_function'] },
  ],
  [
    "SELECT * FROM pg_catalog.pg_ls_dir('.')",
    { dangerousFunctions: ['pg_catalog.pg_ls_dir'], flags: ['dangerous_function'] },
  ],
  ["SELECT lo_import('/etc/passwd')", { flags: ['dangerous_function'] }],
  ["SELECT * FROM dblink('host=x', 'select 1') AS t(a int)", { flags: ['dangerous_function'] }],
  [
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity',
    { dangerousFunctions: ['pg_terminate_backend'], tablesRead: ['pg_stat_activity'] },
  ],
  [
    "select set_config('role', 'postgres', false)",
    { dangerousFunctions: ['set_config'], flags: ['dangerous_function'] },
  ],
  ["select set_config('SESSION_AUTHORIZATION', 'postgres', false)", { flags: ['dangerous_function'] }],
  ['select set_config(name, setting, false) from pg_settings', { flags: ['dangerous_function'] }],
  ["select set_config('search_path', 'app', false)", { dangerousFunctions: [], flags: [] }],
  ["SELECT query_to_xml('DELETE FROM orders RETURNING *', true, true, '')", { flags: ['dangerous_function'] }],
  ["ALTER SYSTEM SET log_statement = 'none'", { kind: 'admin', command: 'ALTER SYSTEM' }],
  ['GRANT ALL ON customers TO PUBLIC', { kind: 'privilege', command: 'GRANT', tablesWritten: ['customers'] }],
  ['REVOKE SELECT ON customers FROM app', { kind: 'privilege', command: 'REVOKE' }],
  ['SET ROLE postgres', { kind: 'privilege', command: 'SET ROLE' }],
  ['SET LOCAL ROLE postgres', { kind: 'privilege', command: 'SET ROLE' }],
  ['SET SESSION AUTHORIZATION postgres', { kind: 'privilege', command: 'SET SESSION AUTHORIZATION' }],
  ['RESET ROLE', { kind: 'privilege', command: 'RESET ROLE' }],
  ['CREATE ROLE intruder SUPERUSER', { kind: 'privilege', command: 'CREATE ROLE' }],
  ['ALTER ROLE app SUPERUSER', { kind: 'privilege', command: 'ALTER ROLE' }],
  ['SET standard_conforming_strings = off', { kind: 'admin' }],
  ['SET search_path = app, public', { kind: 'utility', command: 'SET' }],
  ['SET statement_timeout TO 1000', { kind: 'utility', command: 'SET' }],
  ['SHOW server_version', { kind: 'read', command: 'SHOW' }],
  ['BEGIN', { kind: 'transaction', command: 'BEGIN' }],
  ['COMMIT', { kind: 'transaction', command: 'COMMIT' }],
  ['ROLLBACK', { kind: 'transaction', command: 'ROLLBACK' }],
  ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', { kind: 'transaction', command: 'SET TRANSACTION' }],
  ["PREPARE TRANSACTION 'x'", { kind: 'admin', command: 'PREPARE TRANSACTION' }],
  [
    'CREATE TABLE copy_of_customers AS SELECT * FROM customers',
    {
      kind: 'ddl',
      command: 'CREATE TABLE AS',
      tablesWritten: ['copy_of_customers'],
      tablesRead: ['customers'],
      flags: ['create_table_as'],
    },
  ],
  [
    'SELECT * INTO stash FROM customers',
    {
      kind: 'ddl',
      command: 'SELECT INTO',
      tablesWritten: ['stash'],
      tablesRead: ['customers'],
      flags: ['select_into'],
    },
  ],
  ['SELECT * FROM orders FOR UPDATE', { kind: 'read', flags: ['locking_clause'] }],
  ['SELECT * FROM (SELECT * FROM orders FOR SHARE) o', { kind: 'read', flags: ['locking_clause'] }],
  [
    'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE',
    { kind: 'write', command: 'LOCK TABLE', tablesWritten: ['orders'], flags: ['locking_clause'] },
  ],
  ['CREATE EXTENSION dblink', { kind: 'ddl', command: 'CREATE EXTENSION' }],
  ['CREATE TABLE t (id int)', { kind: 'ddl', command: 'CREATE TABLE', tablesWritten: ['t'] }],
  [
    'CREATE TABLE t (LIKE customers, c int REFERENCES orders (id))',
    { kind: 'ddl', tablesWritten: ['t'], tablesRead: ['customers', 'orders'] },
  ],
  ['ALTER TABLE orders ADD COLUMN note text', { kind: 'ddl', command: 'ALTER TABLE', tablesWritten: ['orders'] }],
  [
    'ALTER TABLE orders DROP COLUMN note',
    { kind: 'ddl', command: 'ALTER TABLE', tablesWritten: ['orders'], flags: ['drop_column'] },
  ],
  ['ALTER TABLE orders OWNER TO intruder', { kind: 'privilege', command: 'ALTER TABLE' }],
  ['ALTER TABLE customers DISABLE ROW LEVEL SECURITY', { kind: 'privilege', command: 'ALTER TABLE' }],
  ['CREATE INDEX ON orders (total)', { kind: 'ddl', command: 'CREATE INDEX', tablesWritten: ['orders'] }],
  [
    'CREATE VIEW v AS SELECT * FROM customers',
    { kind: 'ddl', command: 'CREATE VIEW', tablesWritten: ['v'], tablesRead: ['customers'] },
  ],
  [
    "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT pg_read_file('/etc/passwd') $$",
    { kind: 'ddl', command: 'CREATE FUNCTION', flags: ['dangerous_function'] },
  ],
  [
    'CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM orders; END',
    { kind: 'ddl', tablesWritten: ['orders'], flags: ['unbounded_write'] },
  ],
  [
    'CREATE FUNCTION h() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$',
    { kind: 'ddl', flags: ['opaque_code'] },
  ],
  ['VACUUM orders', { kind: 'admin', command: 'VACUUM' }],
  [
    'DECLARE c CURSOR FOR SELECT * FROM orders FOR UPDATE',
    { kind: 'read', command: 'SELECT', flags: ['locking_clause'] },
  ],
  ['FETCH 10 FROM c', { kind: 'read', command: 'FETCH' }],
  ['LISTEN events', { kind: 'utility', command: 'LISTEN' }],
  ['PREPARE p AS DELETE FROM orders', { kind: 'write', command: 'DELETE', flags: ['unbounded_write'] }],
];

describe('analyzeSql', () => {
  it.each(CASES)('analyses %j', (sql, expected) => {
    // The client's statement comes first; code it installs (a function body) follows it.
    const analysis = analyzeSql(sql)[0]!;
    const { flags, ...fields } = expected;
    expect(analysis).toMatchObject(fields);
    if (flags) expect(flagsOf(analysis).sort()).toEqual([...flags].sort());
  });

  it.each([
    ["DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$", /DO blocks/],
    ['CALL cleanup()', /CALL/],
    ['SELEC 1', /parser rejects/],
    ['EXECUTE p', /never prepared/],
  ])('marks %j as unknown with a reason', (sql, reason) => {
    const analysis = one(sql);
    expect(analysis.kind).toBe('unknown');
    expect(analysis.unknownReason).toMatch(reason);
  });

  it('splits a multi-statement query and gives each statement its own text', () => {
    const analyses = analyzeSql("SELECT 'é'; DROP TABLE orders;  -- bye");
    expect(analyses.map((a) => [a.command, a.text])).toEqual([
      ['SELECT', "SELECT 'é'"],
      ['DROP TABLE', 'DROP TABLE orders'],
    ]);
  });

  it('returns no statements for an empty or comment-only query', () => {
    expect(analyzeSql('')).toEqual([]);
    expect(analyzeSql('  -- nothing\n/* at all */ ')).toEqual([]);
  });

  it('refuses to parse input over the size limit', () => {
    const [analysis] = analyzeSql(`SELECT '${'x'.repeat(200)}'`, { maxBytes: 100 });
    expect(analysis?.kind).toBe('unknown');
    expect(analysis?.unknownReason).toMatch(/over the 100-byte limit/);
  });

  it('treats a NUL byte as unknown rather than trusting a truncated parse', () => {
    expect(analyzeSql('SELECT 1\0; DROP TABLE orders')[0]?.kind).toBe('unknown');
  });

  it('fails closed instead of overflowing the stack on deeply nested SQL', () => {
    const [analysis] = analyzeSql(`SELECT ${'lower('.repeat(5000)}'x'${')'.repeat(5000)}`);
    expect(analysis?.kind).toBe('unknown');
    expect(analysis?.unknownReason).toMatch(/nested too deeply|parser rejects/);
  });

  it('keeps the raw parse tree of each statement for reuse', () => {
    const [analysis] = analyzeSql('SELECT email FROM customers');
    expect(analysis?.parseTree).toHaveProperty('SelectStmt');
  });

  it('answers a repeated text from the cache with the same frozen analyses', () => {
    const cache = createAnalysisCache(2);
    const first = analyzeSql('SELECT 1', { cache });
    expect(analyzeSql('SELECT 1', { cache })).toBe(first);
    expect(Object.isFrozen(first[0])).toBe(true);
    analyzeSql('SELECT 2', { cache });
    analyzeSql('SELECT 3', { cache });
    expect(cache.size).toBe(2);
    expect(analyzeSql('SELECT 1', { cache })).not.toBe(first);
  });
});
