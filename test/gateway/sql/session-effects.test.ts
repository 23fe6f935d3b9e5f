import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSql, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { sessionEffectsOf } from '../../../gateway/sql/session-effects.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const effects = (sql: string) => sessionEffectsOf(analyzeSql(sql)[0]!.parseTree);

describe('what a completed statement did to the session names', () => {
  it.each([
    ['DECLARE c CURSOR FOR SELECT 1', { portals: ['c'] }],
    ['CLOSE c', { portals: ['c'] }],
    ['CLOSE ALL', { portals: 'all' }],
    ['COMMIT', { portals: 'all' }],
    ['END', { portals: 'all' }],
    ['ROLLBACK', { portals: 'all' }],
    ['ROLLBACK TO SAVEPOINT s', { portals: 'all' }],
    ["PREPARE TRANSACTION 'x'", { portals: 'all' }],
    ['PREPARE p AS SELECT 1', { statements: ['p'] }],
    ['DEALLOCATE p', { statements: ['p'] }],
    ['DEALLOCATE ALL', { statements: 'all' }],
    ['DISCARD ALL', { portals: 'all', statements: 'all' }],
  ])('%j forgets %j', (sql, expected) => {
    expect(effects(sql)).toEqual(expected);
  });

  it.each(['SELECT 1', 'BEGIN', 'SAVEPOINT s', 'RELEASE s', 'DISCARD PLANS', 'FETCH 1 FROM c'])(
    '%j forgets nothing',
    (sql) => {
      expect(effects(sql)).toBeUndefined();
    },
  );
});
