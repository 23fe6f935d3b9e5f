import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

/**
 * Masking must not cost correctness where no sensitive data is involved: these statements return
 * through the gateway exactly what a direct connection returns.
 */
const { sensitive } = maskingCorpus();
const SETUP = `
CREATE SEQUENCE s;
CREATE FUNCTION plus_one(a int) RETURNS int LANGUAGE sql AS $$ SELECT a + 1 $$;
CREATE FUNCTION remember_token() RETURNS text LANGUAGE sql AS $$ SELECT set_config('my.v', api_token, false) FROM customers LIMIT 1 $$;
`;

let bed: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml', 'policies/examples/masking.yaml'], setup: SETUP });
});
afterAll(async () => {
  await bed?.close();
});

/** Rows as psql -At prints them. */
async function directText(sql: string): Promise<string> {
  const result = await bed.direct({ text: sql, rowMode: 'array' });
  return (result.rows as unknown[][])
    .map((r) => r.map((v) => (v === true ? 't' : v === false ? 'f' : v === null ? '' : String(v))).join('|'))
    .join('\n');
}

describe('statements over no masked data return what PostgreSQL returns', () => {
  it.each([
    'SELECT version()',
    'SELECT current_database(), current_schema(), current_user',
    "SELECT current_setting('search_path'), current_setting('work_mem')",
    "SELECT name, setting, context FROM pg_settings WHERE name IN ('work_mem', 'standard_conforming_strings') ORDER BY name",
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_name = 'customers' ORDER BY ordinal_position",
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'orders'::regclass ORDER BY conname",
    "SELECT has_table_privilege('customers', 'SELECT'), pg_typeof(1), format_type(25, NULL)",
  ])('returns %j as a direct connection does', async (sql) => {
    const direct = await directText(sql);
    const outcome = await bed.psql(sql);
    expect(outcome.ok, outcome.output).toBe(true);
    expect(outcome.output.trim()).toBe(direct);
  });

  it('returns the value nextval() took from the sequence', async () => {
    const client = new pg.Client({ connectionString: bed.gateway.url });
    await client.connect();
    try {
      const taken = (await client.query("SELECT nextval('s') AS n")).rows[0].n;
      const last = (await bed.direct('SELECT last_value FROM s')).rows[0].last_value;
      expect(taken).toBe(String(last));
      expect((await client.query("SELECT currval('s') AS c")).rows[0].c).toBe(String(last));
    } finally {
      await client.end();
    }
  });

  it.each([
    ['SELECT * FROM nosuch', 'relation "nosuch" does not exist', '42P01'],
    ['SELECT id FROM public.nosuch WHERE id = 1', 'relation "public.nosuch" does not exist', '42P01'],
    ['SELECT nosuch FROM orders', 'column "nosuch" does not exist', '42703'],
    ['SELECT id FROM customers WHERE nosuch = 1', 'column "nosuch" does not exist', '42703'],
  ])('keeps object names in the error of %j', async (sql, message, code) => {
    const direct = await bed.direct(sql).then(
      () => undefined,
      (e: { message: string; code: string }) => e,
    );
    expect(direct).toMatchObject({ message, code });
    const outcome = await bed.node(sql);
    expect(outcome).toMatchObject({ ok: false, code });
    expect(outcome.output.split('\n')[0]).toBe(message);
  });
});

describe('settings after code masking cannot see into', () => {
  it('refuses a function body that puts a masked value into a setting', async () => {
    const outcome = await bed.psql('SELECT remember_token()');
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('set_config');
    expect(findLeak(outcome.output, sensitive)).toBeNull();
  });

  it('masks settings read back in a session that ran a function masking cannot see into', async () => {
    const client = new pg.Client({ connectionString: bed.gateway.url });
    await client.connect();
    try {
      expect((await client.query("SELECT current_setting('work_mem') AS w")).rows[0].w).toMatch(/B$/);
      await client.query('SELECT plus_one(1)');
      expect((await client.query("SELECT current_setting('work_mem') AS w")).rows[0].w).toBe('****');
      expect((await client.query('SHOW work_mem')).rows[0].work_mem).toBe('****');
    } finally {
      await client.end();
    }
  });
});
