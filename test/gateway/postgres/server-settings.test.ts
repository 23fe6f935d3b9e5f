import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

/**
 * Guardrail class 2 through the real gateway: settings the gateway relies on cannot be changed by
 * any route (SET, set_config, a catalog write, a function's SET clause), and a change the server
 * reports anyway (ParameterStatus) closes the connection.
 */
const TRUSTS_DO = `rules:
  - name: trusted-do
    action: allow
    when: { kind: [unknown] }
`;

let bed: AttackBed;
let trusting: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({
    policies: ['policies/default.yaml'],
    setup: `CREATE FUNCTION lax() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS $$ SELECT 1 $$;`,
  });
  trusting = await startAttackBed({ policies: ['policies/default.yaml'], yaml: { 'trust-do.yaml': TRUSTS_DO } });
});
afterAll(async () => {
  await bed?.close();
  await trusting?.close();
});

async function scsThroughGateway(target: AttackBed): Promise<string> {
  return (await target.psql('SHOW standard_conforming_strings')).output.trim();
}

describe('settings changed by other routes (class 2)', () => {
  it.each([
    ["UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", /no-server-administration/],
    [
      "UPDATE pg_catalog.pg_settings SET setting = 'SQL_ASCII' WHERE name = 'client_encoding'",
      /no-server-administration/,
    ],
    ["SELECT set_config('standard_conforming_strings', 'off', false)", /no-dangerous-functions/],
    ["SELECT set_config('backslash_quote', 'on', true)", /no-dangerous-functions/],
    ['SET session_replication_role = replica', /no-server-administration|no-dangerous-functions/],
    ["SET log_statement = 'none'", /no-server-administration|no-dangerous-functions/],
    ['SET log_min_duration_statement = -1', /no-server-administration|no-dangerous-functions/],
    ["SELECT set_config('log_statement', 'none', false)", /no-dangerous-functions/],
    ['SELECT lax()', /no-dangerous-functions/],
    ['SELECT * FROM pg_hba_file_rules', /no-server-administration/],
    ['SELECT * FROM pg_file_settings', /no-server-administration/],
    ["ALTER DATABASE postgres SET standard_conforming_strings = 'off'", /no-server-administration/],
  ])('refuses %j and the setting stays as it was', async (sql, rule) => {
    const before = await bed.fingerprint();
    const outcome = await bed.psql(sql);
    expect(outcome.ok, outcome.output).toBe(false);
    expect(outcome.output).toMatch(rule);
    expect(await bed.fingerprint()).toBe(before);
    expect(await scsThroughGateway(bed)).toBe('on');
  });

  it('closes the connection when the server reports a lexing setting changed by a route the analysis allowed', async () => {
    const client = new pg.Client({ connectionString: trusting.gateway.url });
    client.on('error', () => undefined);
    await client.connect();
    const outcome = await client
      .query("DO $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END $$")
      .then(
        () => 'ran',
        (e: Error) => e.message,
      );
    expect(outcome).toContain('standard_conforming_strings = off');
    await expect(client.query("SELECT 'still here'")).rejects.toThrow();
    await client.end().catch(() => undefined);
  });

  it('refuses to open a session on a target whose configuration turns standard_conforming_strings off', async () => {
    await bed.direct(`ALTER DATABASE "${bed.db.database}" SET standard_conforming_strings = off`);
    try {
      const outcome = await bed.node('SELECT 1');
      expect(outcome.ok).toBe(false);
      expect(outcome.output).toContain('standard_conforming_strings = off');
    } finally {
      await bed.direct(`ALTER DATABASE "${bed.db.database}" RESET standard_conforming_strings`);
    }
  });
});
