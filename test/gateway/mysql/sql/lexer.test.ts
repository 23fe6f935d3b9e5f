import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalSql } from '../../../../gateway/mysql/sql/canonical-sql.ts';
import { lex } from '../../../../gateway/mysql/sql/lexer.ts';
import { sqlModeFlags, versionOf, type LexerMode } from '../../../../gateway/mysql/sql/lexer-mode.ts';
import { mariaDbAvailable, NO_MARIADB } from '../../../support/mariadb-target.ts';

const MARIADB: LexerMode = { ansiQuotes: false, noBackslashEscapes: false, mariadb: true, version: 101119 };
const values = (sql: string, mode = MARIADB) => {
  const r = lex(sql, mode);
  if (!r.ok) throw new Error(r.reason);
  return r.tokens.map((t) => t.value);
};

describe('lexer', () => {
  it('treats -- as a comment only before whitespace, as the server does', () => {
    expect(values('SELECT 1--1')).toEqual(['SELECT', '1', '-', '-', '1']);
    expect(values('SELECT 1-- 1')).toEqual(['SELECT', '1']);
    expect(values('SELECT 1 #x\n+1')).toEqual(['SELECT', '1', '+', '1']);
  });

  it('resolves versioned comments against the server version (MariaDB rules measured on 10.11)', () => {
    expect(values('/*!50000 DROP TABLE t */')).toEqual(['DROP', 'TABLE', 't']);
    expect(values('SELECT 1 /*!50700 +1 */')).toEqual(['SELECT', '1']);
    expect(values('SELECT 1 /*!101119 +1 */')).toEqual(['SELECT', '1', '+', '1']);
    expect(values('SELECT 1 /*!101120 +1 */')).toEqual(['SELECT', '1']);
    expect(values('/*M!100100 DROP TABLE t */')).toEqual(['DROP', 'TABLE', 't']);
    expect(values('/*M!100100 DROP TABLE t */', { ...MARIADB, mariadb: false, version: 80036 })).toEqual([]);
    expect(values('SELECT 1 /*!99999 +1 /* x */ +1 */')).toEqual(['SELECT', '1']);
  });

  it('quotes per sql_mode: ANSI_QUOTES makes "x" an identifier, NO_BACKSLASH_ESCAPES ends a string at its quote', () => {
    expect(lex('SELECT "ssn"', MARIADB)).toMatchObject({ ok: true, tokens: [{}, { type: 'string', value: 'ssn' }] });
    expect(lex('SELECT "ssn"', { ...MARIADB, ansiQuotes: true })).toMatchObject({
      ok: true,
      tokens: [{}, { type: 'identifier', value: 'ssn' }],
    });
    expect(values("SELECT 'a\\'; DROP TABLE t; -- '")).toEqual(['SELECT', "a'; DROP TABLE t; -- "]);
    expect(values("SELECT 'a\\'; DROP TABLE t", { ...MARIADB, noBackslashEscapes: true })).toEqual([
      'SELECT',
      'a\\',
      ';',
      'DROP',
      'TABLE',
      't',
    ]);
  });

  it('accepts one trailing NUL and refuses any other', () => {
    expect(values('SELECT 1\0')).toEqual(['SELECT', '1']);
    expect(lex('SELECT 1 \0 +1', MARIADB)).toMatchObject({ ok: false, reason: expect.stringContaining('NUL') });
    expect(lex('SELECT 1\0\0', MARIADB).ok).toBe(false);
  });

  it('fails on what the server rejects or could read two ways', () => {
    for (const sql of [
      "SELECT 'x",
      'SELECT 1 /* x',
      'SELECT 1 /*!50000 +1',
      'SELECT 1 /*!50000 /*!50000 1 */ */',
      'SELECT `a',
      'SELECT 1 /*!50000 ; SELECT 2 */',
    ])
      expect(lex(sql, MARIADB).ok).toBe(false);
  });

  it('reads the version from a greeting and the lexer flags from sql_mode', () => {
    expect(versionOf('5.5.5-10.11.19-MariaDB-0+deb12u1')).toEqual({ mariadb: true, version: 101119 });
    expect(versionOf('8.0.36')).toEqual({ mariadb: false, version: 80036 });
    expect(sqlModeFlags('REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI')).toMatchObject({
      ansiQuotes: true,
      noBackslashEscapes: false,
    });
    expect(sqlModeFlags('ORACLE').unsupported).toMatch(/ORACLE/);
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.boolean(), fc.boolean(), (sql, ansiQuotes, noBackslashEscapes) => {
        const r = lex(sql, { ...MARIADB, ansiQuotes, noBackslashEscapes });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});

if (!mariaDbAvailable()) console.warn(NO_MARIADB);

/**
 * The differential check: for each probe, the real server runs the original text and the
 * gateway's canonical re-emission of its tokens. The same answer means the gateway lexed it
 * as the server does; where the lexer refuses, the server must have refused too or the probe
 * is one the gateway declines on purpose (a NUL inside).
 */
const PROBES = [
  'SELECT 1 /*!50000 +1 */',
  'SELECT 1 /*!50699 +1 */',
  'SELECT 1 /*!50700 +1 */',
  'SELECT 1 /*!99999 +1 */',
  'SELECT 1 /*!100000 +1 */',
  'SELECT 1 /*!101119 +1 */',
  'SELECT 1 /*!101120 +1 */',
  'SELECT 1 /*!999999 +1 */',
  'SELECT 1 /*M!100100 +1 */',
  'SELECT 1 /*M!999999 +1 */',
  'SELECT 1 /*M!50000 +1 */',
  'SELECT 1 /*M! +1 */',
  'SELECT 1 /*! +1 */',
  'SELECT 1 /*!50000+1 */',
  'SELECT 1 /*m!100100 +1 */',
  'SELECT 1 /*!50000 +1 /* c */ +1 */',
  "SELECT 1 /*!50000 + '*/' */",
  'SELECT 1 /*!99999 +1 /*!50000 +1 */ */',
  'SELECT 1 /*!99999 +1 /* x */ +1 */',
  'SELECT 1--1',
  'SELECT 1-- 1',
  'SELECT 1--\t1',
  'SELECT 1 #c\n+1',
  'SELECT 1 --\r+1',
  'SELECT 1 --\f+1',
  "SELECT 'a\\'b'",
  "SELECT 'a''b'",
  'SELECT "a""b"',
  "SELECT 'a\\\\'",
  "SELECT 'x\\%y'",
  "SELECT 'a' 'b'",
  'SELECT `a``b` FROM (SELECT 1 AS `a``b`) t',
  'SELECT 1\0',
  "SELECT X'41', 0x41, b'1', 1e3, .5, N'n', _latin1'l'",
  'SELECT 1/*!*/+1',
  'SELECT 1 /**/+1',
  'SELECT 2-/*!50000-*/1',
  "SELECT '\\n\\t\\Z\\0'",
];

describe.runIf(mariaDbAvailable())('lexer against the real MariaDB', () => {
  let connection: mysql.Connection;
  beforeAll(async () => {
    connection = await mysql.createConnection({ host: '127.0.0.1', user: 'root' });
  });
  afterAll(() => connection?.end());

  const run = async (sql: string) => {
    try {
      const [rows] = await connection.query({ sql, rowsAsArray: true });
      return JSON.stringify(rows);
    } catch (error) {
      return `error ${(error as { errno?: number }).errno}`;
    }
  };

  it('gives every probe the meaning the server gives it', async () => {
    for (const probe of PROBES) {
      const server = await run(probe);
      const lexed = lex(probe, MARIADB);
      if (!lexed.ok) {
        expect(server, probe).toMatch(/^error/);
        continue;
      }
      const canonical = canonicalSql(lexed.tokens);
      expect(canonical, probe).not.toBeNull();
      expect(await run(canonical!), probe).toBe(server);
    }
  });

  it('agrees with the server under ANSI_QUOTES and NO_BACKSLASH_ESCAPES', async () => {
    await connection.query("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'");
    const mode = { ...MARIADB, ansiQuotes: true, noBackslashEscapes: true };
    for (const probe of [
      'SELECT "a" FROM (SELECT 1 AS a) t',
      "SELECT 'a\\' AS x",
      "SELECT 'a\\', 1",
      'SELECT "a""b" FROM (SELECT 2 AS `a"b`) t',
    ]) {
      const lexed = lex(probe, mode);
      expect(lexed.ok, probe).toBe(true);
      if (!lexed.ok) continue;
      const canonical = canonicalSql(lexed.tokens)!;
      await connection.query("SET SESSION sql_mode = ''");
      const ours = await run(canonical);
      await connection.query("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'");
      expect(ours, probe).toBe(await run(probe));
    }
    await connection.query('SET SESSION sql_mode = DEFAULT');
  });
});
