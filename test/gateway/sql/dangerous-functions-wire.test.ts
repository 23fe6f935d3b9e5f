import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useGuardedPostgres } from '../../support/guarded-postgres.ts';

const bed = useGuardedPostgres({ masking: false });
const psql = bed.psql;
const run = promisify(execFile);

async function ordersExist(): Promise<boolean> {
  const { stdout } = await run('psql', [
    bed.db.url,
    '-X',
    '-At',
    '-c',
    "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'",
  ]);
  return stdout.trim() === '1';
}

describe('dangerous functions and settings, through a whole gateway', () => {
  it('denies set_config of a setting that changes how the server lexes SQL, so a later statement cannot hide a DROP in a string', async () => {
    const out = await psql(
      "SELECT set_config('standard_conforming_strings', 'off', false)",
      "SELECT 'x\\' -- '; DROP TABLE orders; --",
    );
    expect(out).toMatch(/denied by rule "no-dangerous-functions"/);
    expect(await ordersExist()).toBe(true);
    const encoding = await psql("SELECT set_config('client_encoding', 'SJIS', false)");
    expect(encoding).toMatch(/denied by rule "no-dangerous-functions"/);
  });

  it('denies an operator, aggregate or cast defined over a dangerous function, which later calls would not show', async () => {
    for (const sql of [
      'CREATE OPERATOR ### (rightarg = text, function = pg_read_file)',
      'CREATE AGGREGATE peek(text) (sfunc = textcat, stype = text, finalfunc = pg_catalog.pg_read_file)',
    ]) {
      expect(await psql(sql)).toMatch(/denied by rule "no-dangerous-functions"/);
    }
    const { stdout } = await run('psql', [
      bed.db.url,
      '-X',
      '-At',
      '-c',
      "SELECT count(*) FROM pg_operator WHERE oprname = '###'",
    ]);
    expect(stdout.trim()).toBe('0');
  });

  it('denies a function whose SET clause changes how its body is lexed when it runs', async () => {
    const body = "SELECT 'x\\' -- '; DELETE FROM orders; SELECT 1 --'";
    const queries = [
      `CREATE FUNCTION lexed() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS $fn$ ${body} $fn$`,
      'SELECT lexed()',
    ];
    const out = await run('psql', [bed.gateway.url, '-X', '-At', ...queries.flatMap((q) => ['-c', q])]).then(
      (r) => r.stdout + r.stderr,
      (e) => `${e.stdout}${e.stderr}`,
    );
    expect(out).toMatch(/denied by rule "no-dangerous-functions"/);
    const { stdout } = await run('psql', [bed.db.url, '-X', '-At', '-c', 'SELECT count(*) FROM orders']);
    expect(stdout.trim()).toBe('30');
  });
});
