import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

/**
 * Second review of guardrail class 3 through the real gateway under policies/default.yaml: a
 * cast between built-in types, created earlier by "another job" on a direct connection, calls its
 * function where the statement shows only `::int` (explicit) or nothing at all (implicit).
 */
const EARLIER = `
CREATE FUNCTION read_host(p text) RETURNS int LANGUAGE sql AS $$ SELECT length(pg_read_file('/etc/hostname')) $$;
CREATE CAST (text AS int) WITH FUNCTION read_host(text);
CREATE FUNCTION wipe_date(p text) RETURNS date LANGUAGE sql AS $$ DELETE FROM orders; SELECT current_date $$;
CREATE CAST (text AS date) WITH FUNCTION wipe_date(text) AS ASSIGNMENT;
CREATE TABLE due (id int PRIMARY KEY, d date);
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
  expect(await bed.fingerprint()).toBe(before);
}

describe('user-defined casts call functions (class 3)', () => {
  it.each([
    ["SELECT '/x'::text::int", /no-dangerous-functions/],
    ['SELECT CAST(name AS integer) FROM customers', /no-dangerous-functions/],
    ["INSERT INTO due VALUES (1, 'x'::text)", /no-unbounded-writes.*wipe_date/],
    ['SELECT count(*) FROM orders', /no-unbounded-writes.*wipe_date/],
  ])('judges %j by the function its cast runs', async (sql, rule) => {
    // psql's own startup setting (application_name) is a statement too, and the assignment cast to
    // date may run in any statement: psql is refused at connect, naming that cast; node-postgres
    // sends no startup setting, so its statement meets the rule of its own cast.
    await refused(sql, new RegExp(`${rule.source}|startup parameters refused: .*no-unbounded-writes.*wipe_date`));
    await refused(sql, rule, 'node');
  });

  it('leaves statements alone that cast to types no explicit user cast targets', async () => {
    // DDL made elsewhere is seen within the catalog cache's 5 s.
    await bed.direct('DROP CAST (text AS date)');
    await new Promise((resolve) => setTimeout(resolve, 5200));
    const outcome = await bed.psql("SELECT '7'::text::bigint, count(*) FROM orders");
    expect(outcome).toMatchObject({ ok: true, output: '7|30\n' });
  });
});
