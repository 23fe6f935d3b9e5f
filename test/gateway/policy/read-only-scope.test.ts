import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import { allowsOnlyReads } from '../../../gateway/policy/read-only-scope.ts';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

/**
 * Guardrail class 4: a read-only policy is also enforced by the server. The target session runs
 * with default_transaction_read_only, attempts to lift it are refused, and what the analysis lets
 * through (a looser read rule) still cannot write.
 */
const LOOSE_READS = `rules:
  - name: any-read
    action: allow
    when: { kind: [read] }
  - name: transactions
    action: allow
    when: { kind: [transaction, utility] }
`;

const SETUP = `
CREATE SEQUENCE s;
CREATE FUNCTION lower(n int) RETURNS int LANGUAGE sql AS $$ INSERT INTO orders (id, customer_id, total) VALUES (900 + n, 1, 1) RETURNING 1 $$;
CREATE VIEW shipped AS SELECT lower(1) AS n;
CREATE FUNCTION lifts() RETURNS int LANGUAGE sql SET default_transaction_read_only = off AS $$ SELECT 1 $$;
`;

let strict: AttackBed;
let loose: AttackBed;
beforeAll(async () => {
  strict = await startAttackBed({ policies: ['policies/examples/read-only.yaml'], setup: SETUP });
  loose = await startAttackBed({ policies: [], yaml: { 'reads.yaml': LOOSE_READS }, setup: SETUP });
});
afterAll(async () => {
  await strict?.close();
  await loose?.close();
});

describe('which policies run the target session read-only', () => {
  const policy = (yaml: string) => parsePolicyFiles([{ file: 'p.yaml', text: yaml }]);
  const identity = { sessionId: 's', claims: { repository: 'acme/app' } };

  it('is read-only when no allow or review rule can match more than reads, transactions and utilities', () => {
    expect(allowsOnlyReads(policy(LOOSE_READS), 'app-db', identity)).toBe(true);
    const writes = `${LOOSE_READS}  - { name: w, action: review, connections: [app-db], when: { kind: [write] } }\n`;
    expect(allowsOnlyReads(policy(writes), 'app-db', identity)).toBe(false);
    expect(allowsOnlyReads(policy(writes), 'other-db', identity)).toBe(true);
    const anything = 'rules:\n  - { name: a, action: allow, when: { command: [INSERT] } }\n';
    expect(allowsOnlyReads(policy(anything), 'app-db', identity)).toBe(false);
  });
});

describe('server-enforced read-only (class 4)', () => {
  it('runs the target session read-only', async () => {
    expect((await strict.psql('SHOW default_transaction_read_only')).output.trim()).toBe('on');
    expect((await strict.node("SELECT current_setting('transaction_read_only') AS r")).output).toBe('[["on"]]');
  });

  it.each([
    'SET default_transaction_read_only = off',
    'SET transaction_read_only = off',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'BEGIN READ WRITE',
    'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    'SELECT lifts()',
  ])('refuses %j, which would lift it', async (sql) => {
    const before = await loose.fingerprint();
    const outcome = await loose.psql(sql);
    expect(outcome.ok, outcome.output).toBe(false);
    expect(outcome.output).toMatch(/read-only-session|no-dangerous-functions|default-deny/);
    expect(await loose.fingerprint()).toBe(before);
  });

  it('lets the server refuse a write the looser read rule let through, and nothing changes', async () => {
    const before = await loose.fingerprint();
    const lastValue = (await loose.direct('SELECT last_value FROM s')).rows[0].last_value;
    for (const sql of ["SELECT nextval('s')", "SELECT setval('s', 42)"]) {
      const outcome = await loose.node(sql);
      expect(outcome, sql).toMatchObject({ ok: false, code: '25006' });
    }
    expect((await loose.direct('SELECT last_value FROM s')).rows[0].last_value).toBe(lastValue);
    expect(await loose.fingerprint()).toBe(before);
  });

  it.each(['SELECT lower(1)', 'SELECT * FROM shipped', 'SELECT * FROM pg_file_settings', "SET log_statement = 'none'"])(
    'refuses %j under examples/read-only.yaml and the database is unchanged',
    async (sql) => {
      const before = await strict.fingerprint();
      const outcome = await strict.psql(sql);
      expect(outcome.ok, outcome.output).toBe(false);
      expect(await strict.fingerprint()).toBe(before);
    },
  );

  it('keeps the session read-only across DISCARD ALL and RESET ALL', async () => {
    const client = new pg.Client({ connectionString: loose.gateway.url });
    await client.connect();
    try {
      await client.query('DISCARD ALL');
      await client.query('RESET ALL');
      expect((await client.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only).toBe(
        'on',
      );
    } finally {
      await client.end();
    }
  });
});
