import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

/**
 * Masking class 9: a function is trusted (as pure, or transparent to the detectors) by the OID
 * the server resolves, never by its schema, name or declared volatility; EXPLAIN over masked data
 * is refused. The tampering is done "earlier, by someone else", on a direct connection.
 */
const { sensitive } = maskingCorpus();
const POLICIES = ['policies/default.yaml', 'policies/examples/masking.yaml'];
const TAMPERED = `
CREATE TABLE stash (v text);
CREATE FUNCTION pg_catalog.md5(v varchar) RETURNS text LANGUAGE sql AS $$ INSERT INTO public.stash VALUES (v) RETURNING 'x' $$;
ALTER FUNCTION pg_catalog.lower(text) RENAME TO lower_before;
ALTER FUNCTION pg_catalog.reverse(text) RENAME TO lower;
CREATE FUNCTION token_of_ada() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT api_token FROM customers WHERE id = 1 $$;
`;

let bed: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: POLICIES, setup: TAMPERED });
});
afterAll(async () => {
  await bed?.close();
});

async function stashed(): Promise<number> {
  return Number((await bed.direct('SELECT count(*) AS n FROM stash')).rows[0].n);
}

describe('trust by the identity the server resolves (class 9)', () => {
  it('does not trust a function created in pg_catalog under a built-in name', async () => {
    for (const outcome of [
      await bed.psql('SELECT md5(api_token::varchar) FROM customers'),
      await bed.node('SELECT md5(ssn::varchar) AS h FROM customers'),
    ]) {
      expect(outcome.ok, outcome.output).toBe(false);
      expect(findLeak(outcome.output, sensitive)).toBeNull();
    }
    expect(await stashed()).toBe(0);
  });

  it('does not treat a renamed built-in as the function whose name it took', async () => {
    // "lower" is really reverse(): the detectors would never see the reversed card number in notes.
    const outcome = await bed.psql('SELECT lower(notes) FROM customers ORDER BY id');
    expect(findLeak(outcome.output, sensitive), outcome.output).toBeNull();
    const direct = await bed.direct('SELECT lower(notes) AS n FROM customers WHERE id = 1');
    expect(direct.rows[0].n).toContain('9555555555000055');
  });

  it('refuses EXPLAIN over masked data, where a folded IMMUTABLE function would show a value', async () => {
    for (const sql of [
      'EXPLAIN (VERBOSE) SELECT token_of_ada()',
      "EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM customers WHERE api_token = 'x'",
      'EXPLAIN SELECT * FROM customers',
    ]) {
      const outcome = await bed.psql(sql);
      expect(outcome.ok, `${sql}: ${outcome.output}`).toBe(false);
      expect(outcome.output).toContain('masking');
      expect(findLeak(outcome.output, sensitive)).toBeNull();
    }
    const direct = await bed.direct('EXPLAIN (VERBOSE) SELECT token_of_ada()');
    expect(JSON.stringify(direct.rows)).toContain('zq-7Hq2Lm9Xw4Pt');
  });

  it('explains statements over unmasked data as a direct connection does', async () => {
    const sql = 'EXPLAIN (COSTS OFF) SELECT id, total FROM orders WHERE id = 3';
    const direct = (await bed.direct(sql)).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect((await bed.psql(sql)).output.trim()).toBe(direct);
  });

  it.each([
    'CREATE CAST (text AS int) WITH FUNCTION length(text)',
    'CREATE OPERATOR ### (function = length, rightarg = text)',
    'ALTER FUNCTION token_of_ada() STABLE',
  ])('refuses %j, which would run a function where no statement names it', async (sql) => {
    const before = await bed.fingerprint();
    const outcome = await bed.psql(sql);
    expect(outcome.ok, outcome.output).toBe(false);
    expect(await bed.fingerprint()).toBe(before);
  });
});

describe('casts added between built-in types', () => {
  let casts: AttackBed;
  beforeAll(async () => {
    casts = await startAttackBed({
      policies: POLICIES,
      setup: `CREATE TABLE stash (v text);
        CREATE FUNCTION stash_it(v text) RETURNS int LANGUAGE sql AS $$ INSERT INTO stash VALUES (v); SELECT 1 $$;
        CREATE CAST (text AS int) WITH FUNCTION stash_it(text);`,
    });
  });
  afterAll(async () => {
    await casts?.close();
  });

  it('refuses statements over masked data, which could reach the cast without naming it', async () => {
    const outcome = await casts.psql('SELECT api_token::text FROM customers');
    expect(outcome.ok, outcome.output).toBe(false);
    expect(outcome.output).toContain('casts');
    expect(Number((await casts.direct('SELECT count(*) AS n FROM stash')).rows[0].n)).toBe(0);
    expect((await casts.psql('SELECT count(*) FROM orders')).output.trim()).toBe('30');
  });
});
