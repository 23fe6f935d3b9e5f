import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { useGuardedPostgres } from '../../support/guarded-postgres.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

const sensitive = maskingCorpus().sensitive;
const bed = useGuardedPostgres({ masking: true });
const wire = bed.wire;

describe('binary results', () => {
  it('runs the detectors over the text inside binary arrays and records', async () => {
    const binary = (sql: string) =>
      wire([serialize.parse({ text: sql }), serialize.bind({ binary: true }), serialize.execute({}), serialize.sync()]);
    for (const sql of [
      'SELECT ARRAY[notes] FROM customers',
      'SELECT ROW(id, notes) FROM customers',
      'SELECT array_agg(notes) FROM customers',
    ]) {
      const out = await binary(sql);
      expect(out, sql).toMatch(/C:SELECT/);
      expect(findLeak(out, sensitive), `${sql}\n${out}`).toBeNull();
    }
    expect(await binary('SELECT ARRAY[name] FROM customers ORDER BY id')).toContain('Ada Lovelace');
  });
});
