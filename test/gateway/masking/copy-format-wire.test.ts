import { describe, expect, it } from 'vitest';
import { useGuardedPostgres } from '../../support/guarded-postgres.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

const sensitive = maskingCorpus().sensitive;
const bed = useGuardedPostgres({ masking: true });
const psql = bed.psql;

describe('COPY TO STDOUT formats', () => {
  it('masks COPY whose QUOTE or ESCAPE is a line break or a digit, or refuses it', async () => {
    for (const sql of [
      "COPY customers TO STDOUT (FORMAT csv, QUOTE E'\\n')",
      "COPY customers TO STDOUT (FORMAT csv, ESCAPE E'\\r')",
      "COPY customers TO STDOUT WITH CSV QUOTE AS E'\\n'",
      "COPY customers TO STDOUT (FORMAT csv, DELIMITER '-', ESCAPE '1')",
      "COPY customers TO STDOUT (FORMAT csv, DELIMITER 'x', QUOTE ',', ESCAPE '1')",
    ]) {
      const out = await psql(sql);
      expect(findLeak(out, sensitive), `${sql}\n${out}`).toBeNull();
    }
    const plain = await psql("COPY (SELECT id, name FROM customers ORDER BY id) TO STDOUT (FORMAT csv, QUOTE '''')");
    expect(plain).toContain('1,Ada Lovelace');
  });
});
