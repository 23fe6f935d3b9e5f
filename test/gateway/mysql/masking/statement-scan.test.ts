import { describe, expect, it } from 'vitest';
import { scanStatement } from '../../../../gateway/mysql/masking/statement-scan.ts';
import { lex } from '../../../../gateway/mysql/sql/lexer.ts';
import type { LexerMode } from '../../../../gateway/mysql/sql/lexer-mode.ts';

const MODE: LexerMode = { ansiQuotes: false, noBackslashEscapes: false, mariadb: true, version: 101100 };
const MASKED = new Set(['ssn']);

function scan(sql: string, mode: LexerMode = MODE) {
  const lexed = lex(sql, mode);
  if (!lexed.ok) throw new Error(lexed.reason);
  return scanStatement(lexed.tokens, MASKED, true);
}

describe("what a statement's tokens say about masked data", () => {
  it('finds masked values deciding rows at any depth, but not in a derived table or UNION branch select list', () => {
    expect(scan("SELECT name FROM users WHERE ssn LIKE '1%'").rowDecision).toMatch(/ssn/);
    expect(scan('SELECT name FROM users WHERE id IN (SELECT id FROM users WHERE ssn = 1)').rowDecision).toMatch(/ssn/);
    expect(scan('SELECT name, ROW_NUMBER() OVER (ORDER BY ssn) FROM users').rowDecision).toMatch(/ssn/);
    expect(scan('SELECT ssn AS s FROM users ORDER BY s').rowDecision).toMatch(/"s"/);
    expect(scan('SELECT x FROM (SELECT ssn AS x FROM users) d').rowDecision).toBeUndefined();
    expect(scan('SELECT name FROM users UNION ALL SELECT ssn FROM users').rowDecision).toBeUndefined();
    expect(scan('SELECT name FROM users UNION SELECT ssn FROM users').rowDecision).toMatch(/UNION without ALL/);
    expect(scan('SELECT DISTINCT ssn FROM users').rowDecision).toMatch(/DISTINCT/);
    expect(scan('SELECT name FROM users ORDER BY 1').rowDecision).toMatch(/position/);
  });

  it('tells a plain SELECT (whose origins the server reports truthfully) from other shapes', () => {
    expect(scan('SELECT name, ssn FROM users u').plainSelect).toBe(true);
    expect(scan('SELECT x FROM (SELECT ssn AS x FROM users) d').plainSelect).toBe(false);
    expect(scan('WITH c AS (SELECT 1) SELECT * FROM c').plainSelect).toBe(false);
    expect(scan("SELECT t.x FROM users, JSON_TABLE('[]', '$[*]' COLUMNS (x INT PATH '$')) t").plainSelect).toBe(false);
  });

  it('counts a * that expands to columns as a mention, COUNT(*) and products not', () => {
    expect(scan('SELECT * FROM users').mentionsMasked).toBe(true);
    expect(scan('SELECT COUNT(*) FROM users').mentionsMasked).toBe(false);
    expect(scan('SELECT id * 2 FROM users').mentionsMasked).toBe(false);
  });

  it('counts a quoted "ssn" in either sql_mode (a column under ANSI_QUOTES, a string that could be one otherwise)', () => {
    expect(scan('SELECT "ssn" FROM users', { ...MODE, ansiQuotes: true }).mentionsMasked).toBe(true);
    expect(scan('SELECT "ssn" FROM users').mentionsMasked).toBe(true);
    expect(scan("SELECT name FROM users WHERE name = 'x'").rowDecision).toBeUndefined();
  });
});
