import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

/**
 * Guardrail classes 1 and 3 through the real gateway: code installed now and run later is judged
 * by what the server will run (looked up by OID), and names are never trusted. Objects "created
 * earlier by another job" are created on a direct connection before the gateway starts.
 */
const EARLIER = `
CREATE FUNCTION wipe_orders() RETURNS bigint LANGUAGE sql AS $$ DELETE FROM orders; SELECT 0::bigint $$;
CREATE FUNCTION harmless(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + 1 $$;
CREATE FUNCTION opaque_exec(q text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE q; END $$;
CREATE VIEW order_report AS SELECT wipe_orders() AS n;
CREATE TABLE ledger (id int PRIMARY KEY, n bigint DEFAULT wipe_orders());
CREATE TABLE inbox (id int PRIMARY KEY, body text);
CREATE RULE inbox_also AS ON INSERT TO inbox DO ALSO DELETE FROM customers;
CREATE TABLE events (id int PRIMARY KEY);
CREATE FUNCTION on_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM orders; RETURN NEW; END $$;
CREATE TRIGGER events_wipe AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION on_event();
CREATE SCHEMA util;
CREATE FUNCTION util.read(p text) RETURNS text LANGUAGE sql AS $$ SELECT pg_read_file(p) $$;
CREATE FUNCTION lower(n int) RETURNS text LANGUAGE sql AS $$ TRUNCATE orders; SELECT 'x' $$;
ALTER FUNCTION pg_catalog.pg_read_file(text) RENAME TO cfg_text;
ALTER FUNCTION pg_catalog.set_config(text, text, boolean) RENAME TO cfg;
CREATE DOMAIN checked_int AS int CHECK (wipe_orders() >= 0);
CREATE TABLE measured (id int PRIMARY KEY, v checked_int);
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

describe('code installed now, run later (class 1)', () => {
  it.each([
    [
      'CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DROP TABLE orders $$',
      /no-drop-or-truncate.*body of function f/,
    ],
    ['CREATE FUNCTION g() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM orders; END', /no-unbounded-writes/],
    ["CREATE PROCEDURE p() LANGUAGE sql AS $$ COPY orders TO PROGRAM 'id' $$", /no-server-files-or-programs/],
    [
      'CREATE FUNCTION o() RETURNS void LANGUAGE sql AS $o$ CREATE FUNCTION i() RETURNS int LANGUAGE plpgsql AS $i$ BEGIN RETURN 1; END $i$ $o$',
      /no-opaque-server-code/,
    ],
    [
      'CREATE FUNCTION s() RETURNS void LANGUAGE sql AS $$ SET ROLE postgres $$',
      /no-privilege-changes|no-dangerous-functions/,
    ],
    ['CREATE RULE r AS ON INSERT TO orders DO ALSO DELETE FROM customers', /no-unbounded-writes/],
    ['CREATE TRIGGER t AFTER INSERT ON customers FOR EACH ROW EXECUTE FUNCTION on_event()', /cannot analyse/],
    ['CREATE VIEW v2 AS SELECT wipe_orders()', /no-unbounded-writes.*body of function public.wipe_orders/],
    ['ALTER TABLE customers ADD COLUMN z bigint DEFAULT wipe_orders()', /no-unbounded-writes/],
    ['CREATE DOMAIN d2 AS int CHECK (wipe_orders() > VALUE)', /no-unbounded-writes/],
    ['CREATE OPERATOR ### (function = wipe_orders, rightarg = int)', /no-unbounded-writes/],
  ])('refuses to install %j and leaves the database unchanged', async (sql, rule) => {
    await refused(sql, rule);
  });

  it.each([
    ['SELECT wipe_orders()', /no-unbounded-writes/],
    ['SELECT * FROM order_report', /no-unbounded-writes.*public.wipe_orders/],
    ['INSERT INTO ledger (id) VALUES (1)', /no-unbounded-writes/],
    ["INSERT INTO inbox VALUES (1, 'hi')", /no-unbounded-writes.*rule inbox_also/],
    ['INSERT INTO events VALUES (1)', /cannot analyse.*on_event/],
    ['INSERT INTO measured VALUES (1, 2)', /no-unbounded-writes/],
    ["SELECT opaque_exec('DROP TABLE orders')", /cannot analyse.*opaque_exec/],
  ])('judges %j by what the server will run, not by its text', async (sql, rule) => {
    await refused(sql, rule);
    await refused(sql, rule, 'node');
  });

  it('judges a query sent again with other literals by what the server runs, as the first time', async () => {
    // The second and third texts share the first's analysis and resolution (integer template, facts cache).
    for (const id of [1, 2, 3])
      await refused(`SELECT * FROM order_report WHERE n = ${id}`, /no-unbounded-writes.*public.wipe_orders/);
    for (const id of [4, 5]) expect((await bed.psql(`SELECT harmless(${id})`)).output.trim()).toBe(String(id + 1));
  });

  it('still runs statements whose installed code is harmless', async () => {
    expect((await bed.psql('SELECT harmless(1)')).output.trim()).toBe('2');
    const created = await bed.psql('CREATE FUNCTION plus2(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + 2 $$');
    expect(created.ok, created.output).toBe(true);
    expect((await bed.psql('SELECT plus2(1)')).output.trim()).toBe('3');
  });

  it('judges a function replaced after the catalog was read by its new body', async () => {
    expect((await bed.psql('SELECT harmless(5)')).ok).toBe(true);
    await refused(
      'CREATE OR REPLACE FUNCTION harmless(a int) RETURNS int LANGUAGE sql AS $$ DELETE FROM orders; SELECT 1 $$',
      /no-unbounded-writes/,
    );
    await bed.direct(
      'CREATE OR REPLACE FUNCTION harmless(a int) RETURNS int LANGUAGE sql AS $$ TRUNCATE orders; SELECT 1 $$',
    );
    await new Promise((resolve) => setTimeout(resolve, 5_200));
    await refused('SELECT harmless(5)', /no-drop-or-truncate/);
  });
});

describe('trust by name (class 3)', () => {
  it.each([
    ['ALTER FUNCTION pg_catalog.pg_read_binary_file(text) RENAME TO blob', /no-server-administration/],
    ['ALTER FUNCTION pg_ls_dir(text) RENAME TO list_things', /no-server-administration/],
    ['ALTER FUNCTION pg_stat_file(text) SET SCHEMA public', /no-server-administration/],
    ['ALTER FUNCTION harmless(int) SET SCHEMA pg_catalog', /no-server-administration/],
    [
      'CREATE FUNCTION pg_catalog.md5(int) RETURNS text LANGUAGE sql AS $$ SELECT $1::text $$',
      /no-server-administration/,
    ],
    ['COMMENT ON FUNCTION lower(text) IS $$mine$$', /no-server-administration/],
    ['DROP FUNCTION upper(text)', /no-drop-or-truncate|no-server-administration/],
  ])('refuses the change to a built-in %j', async (sql, rule) => {
    await refused(sql, rule);
  });

  it.each([
    ["SELECT cfg_text('/etc/passwd')", /no-dangerous-functions/],
    ["SELECT cfg('standard_conforming_strings', 'off', false)", /no-dangerous-functions/],
    ["SELECT util.read('/etc/passwd')", /no-dangerous-functions.*body of function util.read/],
    ['SELECT lower(1)', /no-drop-or-truncate/],
    ["SELECT length(lower('ABC'))", /no-drop-or-truncate/],
  ])('resolves %j to what the server will call', async (sql, rule) => {
    await refused(sql, rule);
  });

  it('does not confuse a built-in used by its own name with an overload created later', async () => {
    const refusedOverload = await bed.psql("SELECT upper('abc')");
    expect(refusedOverload.output.trim()).toBe('ABC');
  });
});
