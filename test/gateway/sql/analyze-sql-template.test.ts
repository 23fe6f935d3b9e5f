import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql, createAnalysisCache, integerTemplate, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import type { StatementAnalysis } from '../../../gateway/sql/statement-analysis.ts';

beforeAll(async () => {
  await loadSqlParser();
});

/** `#` marks where an integer-looking literal goes; several cases are meant to be refused by the scanner. */
const TEMPLATES = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = #;',
  'SELECT * FROM t LIMIT # OFFSET #',
  '  SELECT #  ;  ',
  'SELECT #;;',
  'SELECT #; SELECT #',
  'EXPLAIN (ANALYZE #) DELETE FROM t',
  'EXPLAIN (ANALYZE #) SELECT * FROM t',
  "SELECT set_config('role', 'x', #::bool)",
  "SELECT set_config('x#', '#', false)",
  'SELECT pg_sleep(#), pg_terminate_backend(#), lo_unlink(#)',
  'SELECT #::regclass, #::oid::regproc',
  'SELECT a[#] FROM t ORDER BY # GROUP BY #',
  "SELECT 'it''s #', # FROM t",
  'SELECT "col#", t#.x FROM t# WHERE "#" = #',
  'SELECT # FROM t FOR UPDATE',
  'SELECT * FROM t WHERE a = # FOR SHARE OF t',
  'WITH d AS (DELETE FROM t WHERE id = # RETURNING *) SELECT * FROM d',
  'WITH d AS (DELETE FROM t WHERE # = # RETURNING *) SELECT * FROM d',
  'SELECT * INTO t2 FROM t WHERE a = #',
  'SELECT -#, + #, #-#, #*-#',
  'SELECT 1.#, #e3, .#, #_000, 0x#, #.',
  'PREPARE p# AS SELECT #',
  'EXECUTE p(#)',
  'SELECT * FROM t WHERE a = # -- #\n',
  'SELECT /* # */ #',
  "SELECT E'\\\\x#', #",
  'SELECT $#',
  'SELECT $$#$$, #',
  "SELECT B'#', X'#', N'#', U&'#'",
  'SELECT * FROM generate_series(#, #) g',
  'VALUES (#), (#)',
  'TABLE t LIMIT #',
  'SELECT * FROM t TABLESAMPLE SYSTEM (#) REPEATABLE (#)',
  'SELECT CASE WHEN # = # THEN # ELSE # END',
  'SELECT * FROM t WHERE a IN (#, #, #) AND b BETWEEN # AND #',
  'SELECT x::varchar(#), y::numeric(#, #) FROM t',
  'DELETE FROM t WHERE id = #',
  'UPDATE t SET a = # WHERE # = #',
  'CREATE TABLE t# (a int DEFAULT #)',
  "DO 'BEGIN PERFORM #; END'",
  'SELECT * FROM dblink(#)',
  'SELECT#FROM t',
  'SELECT a FROM t WHERE a=#AND b=#',
  'SELECT\u00e9#, #\u00e9 FROM t',
  'SELECT #\u0000',
  'COPY (SELECT #) TO STDOUT',
  "SELECT * FROM t WHERE x = 'unterminated #",
] as const;

const digits = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 12 }).map((d) => d.join(''));

function instantiate(template: string, values: readonly string[]): string {
  let i = 0;
  return template.replace(/#/g, () => values[i++ % values.length]!);
}

/** Every property, with the parse tree read (it may be parsed lazily). */
function plain(analyses: readonly StatementAnalysis[]): unknown[] {
  return analyses.map((a) => ({ ...a, parseTree: a.parseTree }));
}

describe('analyzeSql integer-literal template cache', () => {
  it('gives exactly the facts, text and parse tree of a full parse, whatever integers fill a query seen before', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TEMPLATES),
        fc.array(digits, { minLength: 1, maxLength: 6 }),
        fc.array(digits, { minLength: 1, maxLength: 6 }),
        (template, first, second) => {
          const cache = createAnalysisCache(64);
          analyzeSql(instantiate(template, first), { cache });
          const sql = instantiate(template, second);
          expect(plain(analyzeSql(sql, { cache }))).toEqual(plain(analyzeSql(sql)));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('answers a pgbench -S query with a new aid from the template, parsing it only when its tree is read', () => {
    const cache = createAnalysisCache(64);
    analyzeSql('SELECT abalance FROM pgbench_accounts WHERE aid = 17;', { cache });
    const [hit] = analyzeSql('SELECT abalance FROM pgbench_accounts WHERE aid = 90210;', { cache });
    expect(Object.getOwnPropertyDescriptor(hit!, 'parseTree')?.get).toBeTypeOf('function');
    expect(hit!.text).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 90210');
    expect(JSON.stringify(hit!.parseTree)).toContain('90210');
  });

  it('never shares an entry for queries the scanner is unsure of, or that differ in more than short integers', () => {
    expect(integerTemplate('SELECT 1 -- 2')).toBeNull();
    expect(integerTemplate("SELECT E'\\\\1'")).toBeNull();
    expect(integerTemplate('SELECT $1')).toBeNull();
    expect(integerTemplate('SELECT 1.5')).toBeNull();
    expect(integerTemplate('SELECT 1234567890')).toBeNull();
    expect(integerTemplate("SELECT 'a'")).toBeNull();
    expect(integerTemplate("SELECT 'x', 7")).toBe(integerTemplate("SELECT 'x', 8"));
    expect(integerTemplate("SELECT 'x', 7")).not.toBe(integerTemplate("SELECT 'y', 7"));
  });

  it('keeps a DELETE, an EXPLAIN ANALYZE and a dangerous call out of the template cache', () => {
    for (const [seen, asked] of [
      ['EXPLAIN (ANALYZE 0) SELECT 1', 'EXPLAIN (ANALYZE 1) SELECT 1'],
      ['DELETE FROM t WHERE id = 1', 'DELETE FROM t WHERE id = 2'],
      ['SELECT pg_terminate_backend(1)', 'SELECT pg_terminate_backend(2)'],
    ] as const) {
      const cache = createAnalysisCache(16);
      analyzeSql(seen, { cache });
      const [again] = analyzeSql(asked, { cache });
      expect(Object.getOwnPropertyDescriptor(again!, 'parseTree')?.get).toBeUndefined();
    }
  });
});
