import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

/**
 * Second review of guardrail classes 1 and 3 through the real gateway under policies/default.yaml:
 * code the server runs where no function call is written — SQL text that a built-in executes
 * itself (ts_stat, ts_rewrite), and operators, which call their function by an operator symbol.
 * The operators are created earlier by "another job" on a direct connection.
 */
const EARLIER = `
CREATE OPERATOR public.<~ (RIGHTARG = text, FUNCTION = pg_catalog.pg_read_file);
CREATE FUNCTION wipe_pair(a int, b int) RETURNS int LANGUAGE sql AS $$ DELETE FROM orders; SELECT a + b $$;
CREATE SCHEMA ops;
CREATE OPERATOR ops.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = wipe_pair);
CREATE OPERATOR public.### (LEFTARG = int, RIGHTARG = int, FUNCTION = wipe_pair);
`;

let bed: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml'], setup: EARLIER });
});
afterAll(async () => {
  await bed?.close();
});

async function refused(sql: string, rule: RegExp, via: 'psql' | 'node' = 'psql'): Promise<void> {
  const before = await bed.fingerprint();
  const outcome = via === 'psql' ? await bed.psql(sql) : await bed.node(sql);
  expect(outcome.ok, outcome.output).toBe(false);
  expect(outcome.output).toMatch(rule);
  if (via === 'node') expect(outcome.code).toBe('42501');
  expect(await bed.fingerprint()).toBe(before);
}

describe('SQL text run by a built-in (classes 1 and 3)', () => {
  it.each([
    "SELECT * FROM ts_stat('SELECT to_tsvector(pg_read_file(''/etc/hostname''))')",
    "SELECT * FROM pg_catalog.ts_stat('SELECT to_tsvector(pg_read_file(''/etc/hostname''))', 'a')",
    "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery FROM (SELECT pg_read_file(''/etc/hostname'')) x')",
    "CREATE FUNCTION later() RETURNS bigint LANGUAGE sql RETURN (SELECT count(*) FROM ts_stat('SELECT to_tsvector(''x'')'))",
  ])('refuses %j: the text it runs is SQL the gateway never analysed', async (sql) => {
    await refused(sql, /no-dangerous-functions/);
    await refused(sql, /no-dangerous-functions/, 'node');
  });

  it('refuses ts_rewrite by name whichever overload is written: every function the name may resolve to counts', async () => {
    await refused("SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)", /no-dangerous-functions/);
  });
});

describe('operators call functions (class 3)', () => {
  it.each([
    ["SELECT <~ '/etc/hostname'", /no-dangerous-functions.*pg_read_file/],
    ["SELECT OPERATOR(public.<~) '/etc/hostname'::text", /no-dangerous-functions/],
    ['SELECT 1 ### 2', /no-unbounded-writes.*wipe_pair/],
    ['SET search_path = ops, pg_catalog, public; SELECT 1 + 2', /no-unbounded-writes.*wipe_pair/],
    ['SELECT 1 OPERATOR(ops.+) 2', /no-unbounded-writes/],
    ['SELECT id FROM orders ORDER BY id USING ###', /no-unbounded-writes/],
  ])('judges %j by the function its operator runs', async (sql, rule) => {
    await refused(sql, rule);
  });

  it('refuses through the extended protocol too', async () => {
    await refused("SELECT <~ '/etc/hostname'::text", /no-dangerous-functions/, 'node');
  });

  it('leaves operators alone whose symbol no user-defined operator shares', async () => {
    const outcome = await bed.psql("SELECT 'a' || 'b', 3 > 2, 2 BETWEEN 1 AND 3");
    expect(outcome).toMatchObject({ ok: true, output: 'ab|t|t\n' });
  });
});
