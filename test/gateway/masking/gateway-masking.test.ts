import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { findLeak, maskingCorpus, type CorpusCase } from './masking-fixture.ts';

const run = promisify(execFile);
const corpus = maskingCorpus();
let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase();
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-masking-policies-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  copyFileSync(path.resolve('policies/examples/masking.yaml'), path.join(policies, 'masking.yaml'));
  gateway = await startTestGateway(db, { policies });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

interface Outcome {
  ok: boolean;
  output: string;
}

/** Runs SQL through the gateway with psql (simple protocol; COPY goes to psql's stdout). */
async function viaPsql(sql: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run('psql', [gateway.url, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Runs SQL through the gateway with node-postgres (extended protocol, optional binary results). */
async function viaNode(sql: string, params: unknown[], binary: boolean): Promise<Outcome> {
  const client = new pg.Client({ connectionString: gateway.url, binary } as pg.ClientConfig);
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(JSON.stringify({ ...n, message: n.message })));
  await client.connect();
  try {
    const res = await client.query(sql, params);
    const rows = res.rows.map((r: Record<string, unknown>) =>
      Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)),
    );
    return { ok: true, output: JSON.stringify(rows) + notices.join('') };
  } catch (error) {
    return {
      ok: false,
      output: JSON.stringify({ ...(error as object), message: (error as Error).message }) + notices.join(''),
    };
  } finally {
    await client.end();
  }
}

function runCase(c: CorpusCase): Promise<Outcome> {
  if (c.via === 'extended' || c.result_format === 'binary')
    return viaNode(c.sql, c.params ?? [], c.result_format === 'binary');
  return viaPsql(c.sql);
}

describe('masking through the real gateway data path', () => {
  for (const c of corpus.cases) {
    it(`${c.expect === 'clear' ? 'shows' : 'masks'} "${c.sql}"${c.via ? ` (${c.via}${c.result_format ? `, ${c.result_format}` : ''})` : ''}`, async () => {
      const outcome = await runCase(c);
      if (c.expect !== 'safe') expect(outcome.ok, outcome.output).toBe(true);
      expect(findLeak(outcome.output, corpus.sensitive), outcome.output).toBeNull();
      for (const value of c.values ?? []) expect(outcome.output).toContain(value);
    });
  }

  it('keeps the last four digits of a card number where the rule says so', async () => {
    const outcome = await viaPsql('SELECT card_number FROM customers WHERE id = 3');
    expect(outcome.output.trim()).toBe('****0005');
  });

  it('turns masked values of non-text types into NULL', async () => {
    const outcome = await viaNode('SELECT length(email) AS n, id FROM customers WHERE id = 1', [], false);
    expect(outcome.output).toBe('[[null,1]]');
  });

  it('refuses a cast of a masked column that could fail (its error would tell the value)', async () => {
    const outcome = await viaPsql('SELECT api_token::int FROM customers');
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('could fail on masked data');
    expect(outcome.output).not.toContain('zq-');
  });

  it('hides a failing row that holds masked values in a constraint error', async () => {
    const outcome = await viaPsql('UPDATE customers SET name = NULL WHERE id = 1');
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('hidden (SQLSTATE 23502)');
    expect(findLeak(outcome.output, corpus.sensitive), outcome.output).toBeNull();
  });

  it('passes a binary COPY only of columns proven free of secrets', async () => {
    expect((await viaPsql('COPY (SELECT id, id * 2 FROM customers) TO STDOUT (FORMAT binary)')).ok).toBe(true);
    const refused = await viaPsql('COPY customers TO STDOUT (FORMAT binary)');
    expect(refused.ok).toBe(false);
    expect(refused.output).toContain('binary');
  });

  it('refuses writes that copy masked values elsewhere before they run', async () => {
    const outcome = await viaPsql('CREATE TABLE leak AS SELECT email FROM customers');
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('masking');
    expect((await viaPsql("SELECT count(*) FROM pg_class WHERE relname = 'leak'")).output.trim()).toBe('0');
  });

  it('follows a view replaced by another client of the same session', async () => {
    const one = new pg.Client({ connectionString: gateway.url });
    const two = new pg.Client({ connectionString: gateway.url });
    await one.connect();
    await two.connect();
    try {
      await two.query('CREATE VIEW swap AS SELECT id, name AS label FROM customers');
      expect((await one.query('SELECT label FROM swap WHERE id = 1')).rows[0].label).toBe('Ada Lovelace');
      await two.query('CREATE OR REPLACE VIEW swap AS SELECT id, api_token AS label FROM customers');
      const after = await one.query('SELECT label FROM swap WHERE id = 1');
      expect(after.rows[0].label).toBe('****');
    } finally {
      await two.query('DROP VIEW IF EXISTS swap').catch(() => undefined);
      await one.end();
      await two.end();
    }
  });

  it('resists further bypass attempts', async () => {
    for (const sql of [
      'SELECT (SELECT email FROM customers LIMIT 1)',
      'SELECT x FROM customers c, LATERAL (SELECT c.ssn AS x) s',
      "SELECT translate(notes, '0123456789', 'abcdefghij') FROM customers",
      'SELECT reverse(api_token) FROM customers',
      "SELECT encode(convert_to(notes, 'UTF8'), 'base64') FROM customers",
      'SELECT c.*::text FROM customers c',
      "SELECT json_build_object('e', email)::text FROM customers",
      'SELECT array_agg(card_number)::text FROM customers',
      'SELECT * FROM customers c JOIN customers d USING (id)',
      "SELECT format('%s', ssn) FROM customers",
      'SELECT to_jsonb(c) FROM customers c',
      'WITH RECURSIVE r(t) AS (SELECT api_token FROM customers UNION ALL SELECT t FROM r WHERE false) SELECT * FROM r',
      "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'customers'",
      'DECLARE k CURSOR WITH HOLD FOR SELECT ssn FROM customers; FETCH ALL FROM k',
      'PREPARE q AS SELECT api_token FROM customers; EXECUTE q',
      'SELECT upper(name) || email FROM customers',
    ]) {
      const outcome = await viaPsql(sql);
      expect(findLeak(outcome.output, corpus.sensitive), `${sql}\n${outcome.output}`).toBeNull();
    }
  });
});
