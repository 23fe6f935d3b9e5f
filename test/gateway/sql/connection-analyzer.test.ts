import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../../../gateway/sql/connection-analyzer.ts';

beforeAll(async () => {
  await loadSqlParser();
});

describe('createConnectionAnalyzer', () => {
  it('resolves EXECUTE to what the name was prepared as in the same query', () => {
    const analyzer = createConnectionAnalyzer();
    const analyses = analyzer.analyzeQuery('PREPARE p AS DELETE FROM orders; EXECUTE p');
    expect(analyses.map((a) => [a.command, a.unboundedWrite, a.text])).toEqual([
      ['DELETE', true, 'PREPARE p AS DELETE FROM orders'],
      ['DELETE', true, 'EXECUTE p'],
    ]);
  });

  it('remembers a PREPARE across queries and forgets it on DEALLOCATE', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE p(int) AS UPDATE orders SET status = $1');
    expect(analyzer.analyzeQuery('EXECUTE p(1)')[0]).toMatchObject({ command: 'UPDATE', unboundedWrite: true });
    analyzer.statementCompleted(analyzer.analyzeQuery('DEALLOCATE p')[0]!);
    expect(analyzer.analyzeQuery('EXECUTE p(1)')[0]?.kind).toBe('unknown');
  });

  it('forgets every prepared statement on DEALLOCATE ALL and DISCARD ALL', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE a AS SELECT 1; PREPARE b AS SELECT 2');
    analyzer.statementCompleted(analyzer.analyzeQuery('DEALLOCATE ALL')[0]!);
    expect(analyzer.analyzeQuery('EXECUTE a')[0]?.kind).toBe('unknown');
    analyzer.analyzeQuery('PREPARE c AS SELECT 1');
    analyzer.statementCompleted(analyzer.analyzeQuery('DISCARD ALL')[0]!);
    expect(analyzer.analyzeQuery('EXECUTE c')[0]?.kind).toBe('unknown');
  });

  it('treats EXECUTE of a name never prepared through the gateway as unknown', () => {
    const [analysis] = createConnectionAnalyzer().analyzeQuery('EXECUTE ghost');
    expect(analysis?.kind).toBe('unknown');
    expect(analysis?.unknownReason).toMatch(/"ghost"/);
  });

  it('keeps every PREPARE of a name so a failed re-PREPARE cannot hide the first', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE p AS DELETE FROM orders WHERE id = 1');
    analyzer.analyzeQuery('PREPARE p AS SELECT 1');
    expect(analyzer.analyzeQuery('EXECUTE p').map((a) => a.command)).toEqual(['DELETE', 'SELECT']);
  });

  it('carries EXPLAIN ANALYZE and parameter function calls into the resolved statement', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE p(text) AS SELECT $1');
    const [explained] = analyzer.analyzeQuery("EXPLAIN ANALYZE EXECUTE p(pg_read_file('/etc/passwd'))");
    expect(explained).toMatchObject({ command: 'SELECT', explainAnalyze: true, dangerousFunctions: ['pg_read_file'] });
  });

  it('reports both the CREATE TABLE AS and the prepared statement it executes', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE p AS DELETE FROM orders RETURNING *');
    expect(analyzer.analyzeQuery('CREATE TABLE gone AS EXECUTE p').map((a) => a.command)).toEqual([
      'CREATE TABLE AS',
      'DELETE',
    ]);
  });

  it('remembers protocol-level named statements for Bind and Execute', () => {
    const analyzer = createConnectionAnalyzer();
    expect(analyzer.analyzeParse('s1', 'DELETE FROM orders')[0]?.unboundedWrite).toBe(true);
    expect(analyzer.forStatement('s1')?.[0]?.command).toBe('DELETE');
    expect(analyzer.analyzeQuery('EXECUTE s1')[0]?.command).toBe('DELETE');
    analyzer.closeStatement('s1');
    expect(analyzer.forStatement('s1')).toBeUndefined();
  });

  it('replaces the unnamed statement on every Parse', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeParse('', 'DELETE FROM orders');
    analyzer.analyzeParse('', 'SELECT 1');
    expect(analyzer.forStatement('')?.map((a) => a.command)).toEqual(['SELECT']);
  });

  it('resolves a parsed EXECUTE when it runs, not when it was parsed', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE p AS SELECT 1');
    analyzer.analyzeParse('s', 'EXECUTE p');
    analyzer.statementCompleted(analyzer.analyzeQuery('DEALLOCATE p')[0]!);
    analyzer.analyzeQuery('PREPARE p AS DELETE FROM orders');
    expect(analyzer.forStatement('s')?.map((a) => a.command)).toEqual(['DELETE']);
  });

  it('forgets a deallocated name only when the DEALLOCATE completed, and keeps what was prepared after it', () => {
    const analyzer = createConnectionAnalyzer();
    analyzer.analyzeQuery('PREPARE p AS DELETE FROM orders WHERE id = 1');
    const [deallocate] = analyzer.analyzeQuery('DEALLOCATE p');
    expect(analyzer.analyzeQuery('EXECUTE p')[0]?.command).toBe('DELETE');
    analyzer.analyzeQuery('PREPARE p AS SELECT 1');
    analyzer.statementCompleted(deallocate!);
    expect(analyzer.analyzeQuery('EXECUTE p').map((a) => a.command)).toEqual(['SELECT']);
  });

  it('gives up on a name prepared too many times without DEALLOCATE', () => {
    const analyzer = createConnectionAnalyzer();
    for (let i = 0; i < 10; i++) analyzer.analyzeQuery(`PREPARE p AS SELECT ${i}`);
    expect(analyzer.analyzeQuery('EXECUTE p')[0]?.kind).toBe('unknown');
  });
});
