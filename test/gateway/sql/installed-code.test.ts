import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { flagsOf, resultGroups, type StatementAnalysis } from '../../../gateway/sql/statement-analysis.ts';

beforeAll(async () => {
  await loadSqlParser();
});

function summary(analyses: readonly StatementAnalysis[]) {
  return analyses.map((a) => ({ kind: a.kind, command: a.command, flags: flagsOf(a), origin: a.origin }));
}

describe('code installed now, run later', () => {
  it('lists every statement of a SQL function body after the CREATE, as one server statement', () => {
    const analyses = analyzeSql('CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DROP TABLE orders $$');
    expect(summary(analyses)).toEqual([
      { kind: 'ddl', command: 'CREATE FUNCTION', flags: [], origin: undefined },
      { kind: 'ddl', command: 'DROP TABLE', flags: [], origin: 'body of function f' },
    ]);
    expect(resultGroups(analyses)).toHaveLength(1);
  });

  it('keeps every flag of a body statement, not only tables and functions', () => {
    const analyses = analyzeSql(
      "CREATE PROCEDURE s.p() LANGUAGE sql AS $$ SELECT 1; COPY orders TO PROGRAM 'sh -c id'; EXPLAIN ANALYZE DELETE FROM orders $$",
    );
    expect(summary(analyses).slice(1)).toEqual([
      { kind: 'read', command: 'SELECT', flags: [], origin: 'body of procedure s.p' },
      { kind: 'read', command: 'COPY', flags: ['copy_program'], origin: 'body of procedure s.p' },
      {
        kind: 'write',
        command: 'DELETE',
        flags: ['explain_analyze', 'unbounded_write'],
        origin: 'body of procedure s.p',
      },
    ]);
  });

  it('installs the statements of a BEGIN ATOMIC body and of a RETURN expression', () => {
    const atomic = analyzeSql('CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC TRUNCATE orders; END');
    expect(atomic.map((a) => a.command)).toEqual(['CREATE FUNCTION', 'TRUNCATE']);
    const ret = analyzeSql("CREATE FUNCTION r() RETURNS text LANGUAGE sql RETURN pg_read_file('/etc/passwd')");
    expect(ret[1]).toMatchObject({ kind: 'read', command: 'SELECT', dangerousFunctions: ['pg_read_file'] });
  });

  it('carries the opaque code of a function created inside another function body', () => {
    const sql =
      'CREATE FUNCTION outer_f() RETURNS void LANGUAGE sql AS $o$ CREATE FUNCTION inner_f() RETURNS int LANGUAGE plpgsql AS $i$ BEGIN RETURN 1; END $i$ $o$';
    const analyses = analyzeSql(sql);
    expect(analyses.map((a) => [a.command, flagsOf(a)])).toEqual([
      ['CREATE FUNCTION', []],
      ['CREATE FUNCTION', ['opaque_code']],
    ]);
  });

  it('installs the actions of a rule, which run with every matching statement on its table', () => {
    const analyses = analyzeSql("CREATE RULE r AS ON INSERT TO t DO ALSO UPDATE orders SET status = 'x' WHERE id = 1");
    expect(summary(analyses)).toEqual([
      { kind: 'ddl', command: 'CREATE RULE', flags: [], origin: undefined },
      { kind: 'write', command: 'UPDATE', flags: [], origin: 'rule r on t' },
    ]);
  });

  it('gives installed statements no session effects of their own', () => {
    const [, body] = analyzeSql('CREATE FUNCTION p() RETURNS void LANGUAGE sql AS $$ DEALLOCATE ALL $$');
    expect(body).toMatchObject({ command: 'DEALLOCATE', origin: 'body of function p' });
    expect(body!.deallocateName).toBeUndefined();
  });

  it('records the function a trigger or event trigger will run', () => {
    expect(
      analyzeSql('CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit.f()')[0]!.functions,
    ).toEqual(['audit.f']);
    const event = analyzeSql('CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION pg_terminate_backend()')[0]!;
    expect(event.dangerousFunctions).toEqual(['pg_terminate_backend']);
  });

  it('marks a SQL function whose body cannot be parsed as opaque and installs an unknown statement', () => {
    const analyses = analyzeSql('CREATE FUNCTION b() RETURNS int LANGUAGE sql AS $$ SELEC 1 $$');
    expect(flagsOf(analyses[0]!)).toEqual(['opaque_code']);
    expect(analyses[1]!.kind).toBe('unknown');
  });
});

describe('changes to the server itself', () => {
  it.each([
    'UPDATE pg_catalog.pg_settings SET setting = 0',
    'INSERT INTO information_schema.sql_features VALUES (1)',
    'ALTER FUNCTION pg_catalog.pg_read_file(text) RENAME TO cfg_text',
    'ALTER FUNCTION public.f() SET SCHEMA pg_catalog',
    'ALTER TABLE t SET SCHEMA pg_catalog',
    'CREATE FUNCTION pg_catalog.md5(int) RETURNS text LANGUAGE sql AS $$ SELECT 1::text $$',
    'CREATE OR REPLACE VIEW pg_catalog.pg_settings AS SELECT 1',
    'CREATE TRIGGER t BEFORE UPDATE ON pg_catalog.pg_proc FOR EACH ROW EXECUTE FUNCTION f()',
    'CREATE RULE r AS ON UPDATE TO pg_catalog.pg_settings DO INSTEAD NOTHING',
    'DROP FUNCTION pg_catalog.lower(text)',
    'ALTER TYPE pg_catalog.int4 OWNER TO someone',
    'COMMENT ON FUNCTION pg_catalog.lower(text) IS $$x$$',
    'CREATE CAST (pg_catalog.int4 AS pg_catalog.text) WITH FUNCTION f(int)',
  ])('treats %j as administration', (sql) => {
    expect(analyzeSql(sql)[0]!.kind).toBe('admin');
  });

  it.each([
    'CREATE TABLE t (a int, b pg_catalog.text)',
    'ALTER TABLE t ADD COLUMN c pg_catalog.int8',
    'CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$',
    "SELECT pg_catalog.lower('X')",
    'UPDATE public.pg_settings_copy SET v = 1 WHERE id = 1',
  ])('does not mistake built-in types and functions used by %j for a change to them', (sql) => {
    expect(analyzeSql(sql)[0]!.kind).not.toBe('admin');
  });

  it('names the objects a DDL statement changes so the target can resolve unqualified ones', () => {
    const [rename] = analyzeSql('ALTER FUNCTION pg_read_file(text) RENAME TO cfg_text');
    expect(rename!.ddlObjects).toEqual([{ type: 'function', names: ['pg_read_file'], nargs: 1, resolve: true }]);
    const [create] = analyzeSql('CREATE OR REPLACE FUNCTION lower(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$');
    expect(create!.ddlObjects).toEqual([{ type: 'function', names: ['lower'], resolve: false }]);
  });
});
