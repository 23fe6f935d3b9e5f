import { beforeAll, describe, expect, it } from 'vitest';
import { flagsOf } from '../../../../gateway/sql/statement-analysis.ts';
import { analyzeMysql, createMysqlAnalysisCache } from '../../../../gateway/mysql/sql/analyze-mysql.ts';
import { loadMysqlGrammar } from '../../../../gateway/mysql/sql/grammar.ts';
import type { LexerMode } from '../../../../gateway/mysql/sql/lexer-mode.ts';

const MODE: LexerMode = { ansiQuotes: false, noBackslashEscapes: false, mariadb: true, version: 101119 };
const one = (sql: string, mode = MODE) => {
  const all = analyzeMysql(sql, mode);
  expect(all).toHaveLength(1);
  return all[0]!;
};
const summary = (sql: string) => analyzeMysql(sql, MODE).map((a) => `${a.kind} ${a.command}`);

beforeAll(() => loadMysqlGrammar());

describe('analyzeMysql', () => {
  it('reports reads, writes and the tables they touch', () => {
    expect(one('SELECT a.x FROM db1.t1 AS a JOIN t2 USING (id) WHERE a.id IN (SELECT id FROM t3)')).toMatchObject({
      kind: 'read',
      command: 'SELECT',
      tablesRead: ['db1.t1', 't2', 't3'],
      tablesWritten: [],
    });
    expect(one('INSERT INTO t SELECT * FROM secrets')).toMatchObject({
      kind: 'write',
      tablesRead: ['secrets'],
      tablesWritten: ['t'],
    });
    expect(one('WITH c AS (SELECT 1) SELECT * FROM c').tablesRead).toEqual([]);
    expect(one('DROP TABLE IF EXISTS `t`')).toMatchObject({ kind: 'ddl', command: 'DROP TABLE', tablesWritten: ['t'] });
    expect(one('DROP DATABASE app')).toMatchObject({ kind: 'admin' });
  });

  it('sees the code of versioned comments the server runs, and not the ones it skips', () => {
    expect(one('/*!50000 DROP TABLE t */')).toMatchObject({ command: 'DROP TABLE', tablesWritten: ['t'] });
    expect(one('/*M!100100 DROP TABLE t */')).toMatchObject({ command: 'DROP TABLE' });
    expect(summary('/*!99999 DROP TABLE t */ SELECT 1')).toEqual(['read SELECT']);
    expect(summary("SELECT 'a\\'; DROP TABLE t; -- '")).toEqual(['read SELECT']);
  });

  it('splits multi-statements and re-lexes after a constant SET sql_mode', () => {
    expect(summary('SELECT * FROM t; DROP TABLE u')).toEqual(['read SELECT', 'ddl DROP TABLE']);
    expect(summary("SET sql_mode='NO_BACKSLASH_ESCAPES'; SELECT 'a\\'; DROP TABLE t")).toEqual([
      'utility SET',
      'read SELECT',
      'ddl DROP TABLE',
    ]);
    expect(summary('SET sql_mode = @OLD; SELECT 1')).toEqual(['admin SET sql_mode', 'unknown UNKNOWN']);
    expect(one('SELECT "ssn" FROM customers', { ...MODE, ansiQuotes: true }).tablesRead).toEqual(['customers']);
  });

  it('flags unbounded writes, server files, client files and dangerous functions', () => {
    expect(flagsOf(one('UPDATE t SET a = 1'))).toContain('unbounded_write');
    expect(flagsOf(one('DELETE FROM t WHERE 1 = 1'))).toContain('unbounded_write');
    expect(flagsOf(one('DELETE FROM t WHERE id = 3'))).not.toContain('unbounded_write');
    // A column compared with itself holds on every row (NULLs aside), as in the PostgreSQL analysis.
    for (const where of ['id = id', 't.id = t.id', 'id = id AND 1 = 1', 'id = 3 OR (a) = (a)'])
      expect(flagsOf(one(`UPDATE t SET a = 0 WHERE ${where}`)), where).toContain('unbounded_write');
    expect(flagsOf(one('DELETE FROM t WHERE id = a'))).not.toContain('unbounded_write');
    expect(one("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t")).toMatchObject({
      kind: 'write',
      copyStdio: true,
      file: '/etc/passwd',
      tablesWritten: ['t'],
    });
    expect(one("LOAD DATA INFILE '/var/lib/x' INTO TABLE db.t")).toMatchObject({
      copyServerFile: true,
      tablesWritten: ['db.t'],
    });
    expect(one("SELECT * FROM t INTO OUTFILE '/tmp/x' FIELDS TERMINATED BY ','")).toMatchObject({
      command: 'SELECT INTO OUTFILE',
      copyServerFile: true,
      copyDirection: 'to',
      tablesRead: ['t'],
    });
    expect(one("SELECT LOAD_FILE('/etc/passwd')").dangerousFunctions).toEqual(['load_file']);
  });

  it('reports user variables and classifies sensitive settings as admin', () => {
    expect(one('SELECT @a := 1, @b').userVariables).toEqual(['a', 'b']);
    expect(one('SET @x = 5')).toMatchObject({ kind: 'utility', userVariables: ['x'] });
    for (const sql of [
      'SET NAMES gbk',
      "SET sql_mode = 'ORACLE'",
      'SET @@session.character_set_client = 1',
      'SET GLOBAL max_connections = 1',
      'SET @@global.max_connections = 1',
      "SET session_track_system_variables = ''",
    ])
      expect(one(sql).kind, sql).toBe('admin');
  });

  it('analyses a procedure body and keeps BEGIN ... END whole', () => {
    const p = one(
      'CREATE PROCEDURE p() BEGIN DECLARE n INT DEFAULT 0; SELECT * FROM a; IF n > 0 THEN UPDATE b SET x = 1; END IF; END',
    );
    expect(p).toMatchObject({
      kind: 'ddl',
      command: 'CREATE PROCEDURE',
      tablesRead: ['a'],
      tablesWritten: ['b'],
      opaqueCode: false,
      unboundedWrite: true,
    });
    expect(
      one('CREATE PROCEDURE q() BEGIN DECLARE CONTINUE HANDLER FOR NOT FOUND SET @d = 1; SELECT 1; END').opaqueCode,
    ).toBe(true);
    expect(one('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1').tablesWritten).toEqual(['t']);
    expect(summary('BEGIN NOT ATOMIC UPDATE t SET a = 1; END')).toEqual(['write UPDATE']);
    expect(summary('BEGIN NOT ATOMIC SELECT 1; DROP TABLE t; END')).toEqual(['read SELECT', 'ddl DROP TABLE']);
    expect(summary('IF 1 THEN DROP TABLE t; END IF')).toEqual(['read SELECT', 'ddl DROP TABLE']);
    expect(summary('CREATE PROCEDURE r() BEGIN SELECT 1;')).toEqual(['unknown UNKNOWN']);
  });

  it('maps PREPARE to the statement it prepares and EXECUTE to a name to resolve', () => {
    expect(one("PREPARE s FROM 'DELETE FROM t'")).toMatchObject({
      command: 'DELETE',
      preparedName: 's',
      unboundedWrite: true,
    });
    expect(one('PREPARE s FROM @text')).toMatchObject({ kind: 'unknown' });
    expect(one('EXECUTE s USING @a')).toMatchObject({ command: 'EXECUTE', executeName: 's', userVariables: ['a'] });
    expect(one('DEALLOCATE PREPARE s')).toMatchObject({ deallocateName: 's' });
  });

  it('is unknown for what it cannot analyse', () => {
    for (const sql of [
      'CALL p()',
      'SELEC 1',
      'HANDLER t OPEN',
      'SET STATEMENT sql_mode=ANSI_QUOTES FOR SELECT 1',
      'SELECT 1 \0 +1',
    ])
      expect(one(sql).kind, sql).toBe('unknown');
    expect(one('SELECT 1', { ...MODE, unsupported: 'sql_mode ORACLE' }).kind).toBe('unknown');
    expect(one('SELECT 1 + 1', MODE).kind).toBe('read');
    expect(one('x'.repeat(2000), MODE).kind).toBe('unknown');
    expect(analyzeMysql('SELECT 1', MODE, { maxBytes: 4 })[0]!.unknownReason).toMatch(/limit/);
  });

  it('knows the statements mariadb-dump sends', () => {
    for (const sql of [
      '/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */',
      "/*!40103 SET TIME_ZONE='+00:00' */",
      'START TRANSACTION WITH CONSISTENT SNAPSHOT',
      'SAVEPOINT sp',
      'ROLLBACK TO SAVEPOINT sp',
      "SHOW VARIABLES LIKE 'gtid\\_mode'",
      'SHOW CREATE TABLE `t`',
      'SELECT /*!40001 SQL_NO_CACHE */ * FROM `t`',
      'LOCK TABLES `t` READ /*!32311 LOCAL */',
      'UNLOCK TABLES',
      "SET SESSION character_set_results = 'binary'",
    ])
      expect(one(sql).kind, sql).not.toBe('unknown');
  });

  it('treats a comment-only query as empty and a trailing comment statement as empty', () => {
    expect(analyzeMysql('-- nothing', MODE)).toEqual([]);
    expect(analyzeMysql('SELECT 1;/* c */', MODE).map((a) => a.empty ?? false)).toEqual([false, true]);
  });

  it('caches per mode, so the same text under another sql_mode is analysed again', () => {
    const cache = createMysqlAnalysisCache(8);
    const sql = "SELECT 'a\\'; DROP TABLE t; -- '";
    expect(analyzeMysql(sql, MODE, { cache })).toHaveLength(1);
    expect(analyzeMysql(sql, { ...MODE, noBackslashEscapes: true }, { cache }).map((a) => a.command)).toContain(
      'DROP TABLE',
    );
    expect(analyzeMysql(sql, MODE, { cache })).toBe(analyzeMysql(sql, MODE, { cache }));
  });
});
