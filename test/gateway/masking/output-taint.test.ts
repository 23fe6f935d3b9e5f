import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgCatalog, type MaskingCatalog } from '../../../gateway/masking/catalog.ts';
import type { MaskPlan, RowsPlan } from '../../../gateway/masking/mask-plan.ts';
import { createMaskingPlanner, type MaskingPlanner } from '../../../gateway/masking/output-taint.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { exampleMaskingConfig, maskingCorpus } from './masking-fixture.ts';

let db: TestDatabase;
let client: pg.Client;
let planner: MaskingPlanner;
let catalog: MaskingCatalog;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ host: db.host, port: db.port, user: db.user, database: db.database });
  await client.connect();
  catalog = createPgCatalog(client);
  planner = createMaskingPlanner({ catalog, config: exampleMaskingConfig() });
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

async function planOne(sql: string): Promise<MaskPlan> {
  const plans = await planner.planSql(sql);
  expect(plans).toHaveLength(1);
  return plans[0]!;
}

async function rowsPlan(sql: string): Promise<RowsPlan> {
  const plan = await planOne(sql);
  if (plan.kind !== 'rows') throw new Error(`expected a rows plan for ${sql}, got deny: ${plan.reason}`);
  return plan;
}

function kinds(plan: RowsPlan): string[] {
  return (plan.columns ?? []).map((c) => c.mask.kind);
}

describe('output taint over the masking corpus', () => {
  for (const c of maskingCorpus().cases) {
    it(`plans "${c.sql}" so that ${c.expect === 'clear' ? 'nothing is masked' : 'no sensitive column is raw'}`, async () => {
      const plan = await planOne(c.sql);
      if (c.expect === 'clear') {
        expect(plan.kind).toBe('rows');
        expect(kinds(plan as RowsPlan).every((k) => k === 'raw')).toBe(true);
        return;
      }
      if (c.expect === 'masked') expect(plan.kind).toBe('rows');
      if (plan.kind === 'deny') return;
      const sensitiveRaw = (plan.columns ?? []).filter(
        (col) => ['email', 'card_number', 'ssn', 'api_token'].includes(col.name ?? '') && col.mask.kind === 'raw',
      );
      expect(sensitiveRaw).toEqual([]);
    });
  }
});

describe('output taint over the guardrail corpus', () => {
  it('plans every guardrail statement (allowed or not) without throwing', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('../../fixtures/corpus/guardrails.yaml', import.meta.url), 'utf8');
    const cases = (parse(text) as { cases: { sql: string }[] }).cases;
    const isolated = createMaskingPlanner({ catalog, config: exampleMaskingConfig() });
    for (const c of cases) {
      const plans = await isolated.planSql(c.sql);
      expect(plans.length, c.sql).toBeGreaterThan(0);
      for (const p of plans) expect(['rows', 'deny'], c.sql).toContain(p.kind);
    }
  });
});

describe('output taint', () => {
  it('keeps a plain reference to a masked column as a column mask under any alias', async () => {
    const plan = await rowsPlan('SELECT c.card_number AS x, id FROM customers c');
    expect(plan.columns![0]!.mask).toMatchObject({
      kind: 'mask-column',
      keepLast: 4,
      column: 'public.customers.card_number',
    });
    expect(plan.columns![1]!.mask.kind).toBe('raw');
  });

  it('masks expressions, casts, aggregates and whole-row references over masked columns whole', async () => {
    const plan = await rowsPlan(
      "SELECT upper(email), email || '', card_number::varchar(4), row_to_json(c), string_agg(ssn, ',') OVER (), c FROM customers c",
    );
    expect(kinds(plan)).toEqual(['mask-whole', 'mask-whole', 'mask-whole', 'mask-whole', 'mask-whole', 'mask-whole']);
  });

  it('expands SELECT * through the catalog in column order', async () => {
    const plan = await rowsPlan('SELECT * FROM customers');
    expect(plan.columns!.map((c) => [c.name, c.mask.kind])).toEqual([
      ['id', 'raw'],
      ['name', 'raw'],
      ['email', 'mask-column'],
      ['card_number', 'mask-column'],
      ['ssn', 'mask-column'],
      ['api_token', 'mask-column'],
      ['notes', 'raw'],
    ]);
  });

  it('follows views, subqueries, CTEs and set operations to their base columns', async () => {
    expect(kinds(await rowsPlan('SELECT * FROM customer_contacts'))).toEqual(['raw', 'raw', 'mask-column']);
    expect(kinds(await rowsPlan('SELECT * FROM (SELECT name, email e FROM customers) s'))).toEqual([
      'raw',
      'mask-column',
    ]);
    expect(kinds(await rowsPlan('WITH x AS (SELECT ssn, id FROM customers) SELECT * FROM x'))).toEqual([
      'mask-column',
      'raw',
    ]);
    expect(kinds(await rowsPlan('SELECT name FROM customers UNION ALL SELECT api_token FROM customers'))).toEqual([
      'mask-column',
    ]);
  });

  it('masks the result of a user-defined function whole and redacts its messages', async () => {
    const plan = await rowsPlan('SELECT customer_token(1), id FROM customers');
    expect(kinds(plan)).toEqual(['mask-whole', 'raw']);
    expect(plan.messages).toBe('redact-all');
  });

  it('masks free text passed through a function that could hide it from the detectors', async () => {
    expect(kinds(await rowsPlan('SELECT reverse(notes), upper(notes), notes, length(notes) FROM customers'))).toEqual([
      'mask-whole',
      'raw',
      'raw',
      'mask-whole',
    ]);
    expect(kinds(await rowsPlan('SELECT id::text, to_hex(id), sum(total) FROM orders GROUP BY id'))).toEqual([
      'raw',
      'raw',
      'raw',
    ]);
  });

  it('treats a shadowing user-defined function of a built-in name as opaque', async () => {
    await client.query(
      'CREATE SCHEMA IF NOT EXISTS shadow; CREATE OR REPLACE FUNCTION shadow.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$',
    );
    catalog.invalidate();
    try {
      const plan = await rowsPlan('SELECT upper(name) FROM customers');
      expect(kinds(plan)).toEqual(['mask-whole']);
    } finally {
      await client.query('DROP SCHEMA shadow CASCADE');
      catalog.invalidate();
    }
  });

  it('plans COPY of a table per column and COPY of a query by its select list', async () => {
    const table = await rowsPlan('COPY customers (id, email) TO STDOUT');
    expect(kinds(table)).toEqual(['raw', 'mask-column']);
    expect(table.copy).toMatchObject({ format: 'text', delimiter: '\t' });
    const query = await rowsPlan('COPY (SELECT email, id FROM customers) TO STDOUT WITH (FORMAT csv, HEADER)');
    expect(kinds(query)).toEqual(['mask-column', 'raw']);
    expect(query.copy).toMatchObject({ format: 'csv', delimiter: ',', header: true });
  });

  it('denies binary COPY and server-side COPY of masked data', async () => {
    expect((await planOne('COPY customers TO STDOUT (FORMAT binary)')).kind).toBe('deny');
    expect((await planOne("COPY customers TO '/tmp/x'")).kind).toBe('deny');
    expect((await planOne("COPY customers TO STDOUT (ENCODING 'LATIN1')")).kind).toBe('deny');
    expect((await planOne("COPY customers TO STDOUT (ENCODING 'UTF8')")).kind).toBe('rows');
  });

  it('denies writes that copy masked values into other places', async () => {
    for (const sql of [
      'CREATE TABLE leak AS SELECT email FROM customers',
      'SELECT email INTO leak FROM customers',
      'UPDATE customers SET notes = email',
      'INSERT INTO orders (id, customer_id, total, status) SELECT 100, id, 1, ssn FROM customers',
      'WITH u AS (UPDATE customers SET name = api_token RETURNING id) SELECT * FROM u',
    ]) {
      const plan = await planOne(sql);
      expect(plan, sql).toMatchObject({ kind: 'deny' });
    }
  });

  it('denies handing masked values to functions that could store or send them', async () => {
    for (const sql of [
      'CALL some_proc((SELECT email FROM customers LIMIT 1))',
      "SELECT set_config('x.leak', email, false) FROM customers",
      "SELECT pg_notify('chan', api_token) FROM customers",
      'SELECT customer_token(length(ssn)) FROM customers',
    ]) {
      expect(await planOne(sql), sql).toMatchObject({ kind: 'deny' });
    }
    expect(kinds(await rowsPlan("SELECT set_config('x.ok', name, false) FROM customers"))).toEqual(['mask-whole']);
  });

  it('masks planner statistics, which hold copies of column values', async () => {
    const plan = await rowsPlan('SELECT most_common_vals FROM pg_stats');
    expect(kinds(plan)).toEqual(['mask-whole']);
  });

  it('redacts error details of writes to a table with masked columns', async () => {
    const plan = await rowsPlan('UPDATE customers SET name = NULL WHERE id = 1');
    expect(plan.messages).toBe('redact-values');
  });

  it('denies renaming a table with masked columns and creating triggers or functions', async () => {
    expect(await planOne('ALTER TABLE customers RENAME TO people')).toMatchObject({ kind: 'deny' });
    expect(await planOne('ALTER TABLE customers RENAME COLUMN email TO e')).toMatchObject({ kind: 'deny' });
    expect(await planOne("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")).toMatchObject({ kind: 'deny' });
    expect(await planOne('ALTER TABLE orders ADD COLUMN note text')).toMatchObject({ kind: 'rows' });
    expect(await planOne('CREATE INDEX ON customers (customer_token(id))')).toMatchObject({ kind: 'deny' });
    expect(await planOne('CREATE INDEX ON orders (status)')).toMatchObject({ kind: 'rows' });
    expect(await planOne('CREATE TABLE stash (id int, t text DEFAULT customer_token(1))')).toMatchObject({
      kind: 'deny',
    });
    expect(
      await planOne(
        "ALTER TABLE orders ADD COLUMN x xml DEFAULT query_to_xml('SELECT email FROM customers', true, false, '')",
      ),
    ).toMatchObject({ kind: 'deny' });
    expect(
      await planOne('CREATE TABLE fine (id serial, at timestamptz DEFAULT now(), u uuid DEFAULT gen_random_uuid())'),
    ).toMatchObject({ kind: 'rows' });
  });

  it('denies casting masked data to a domain, whose CHECK could run any function', async () => {
    await client.query("CREATE DOMAIN checked_text AS text CHECK (VALUE <> '')");
    catalog.invalidate();
    try {
      expect(await planOne('SELECT email::checked_text FROM customers')).toMatchObject({ kind: 'deny' });
      expect(kinds(await rowsPlan('SELECT id::text, email::varchar FROM customers'))).toEqual(['raw', 'mask-whole']);
    } finally {
      await client.query('DROP DOMAIN checked_text');
      catalog.invalidate();
    }
  });

  it('gives FETCH the plan of its cursor and EXECUTE the plan of its prepared statement', async () => {
    expect(await planOne('FETCH 1 FROM nope')).toMatchObject({ kind: 'deny' });
    await planOne('DECLARE cur CURSOR FOR SELECT id, ssn FROM customers');
    expect(kinds(await rowsPlan('FETCH 2 FROM cur'))).toEqual(['raw', 'mask-column']);
    await planOne('PREPARE p1 AS SELECT api_token FROM customers WHERE id = $1');
    expect(kinds(await rowsPlan('EXECUTE p1(1)'))).toEqual(['mask-column']);
    await planOne('DEALLOCATE p1');
    expect(await planOne('EXECUTE p1(1)')).toMatchObject({ kind: 'deny' });
  });

  it('passes system columns, which hold row identities', async () => {
    expect(kinds(await rowsPlan('SELECT ctid, c.xmin, id FROM customers c'))).toEqual(['raw', 'raw', 'raw']);
  });

  it('answers a read of a relation missing from the catalog as PostgreSQL would, before it runs', async () => {
    expect(await planOne('SELECT * FROM not_there')).toEqual({
      kind: 'deny',
      reason: 'relation "not_there" does not exist',
      code: '42P01',
    });
  });

  it('masks the RETURNING of a write to a relation missing from the catalog instead of passing it', async () => {
    const plan = await rowsPlan('INSERT INTO not_there VALUES (1) RETURNING *');
    expect(plan.columns).toBeNull();
    expect(plan.fallback.kind).toBe('mask-whole');
  });

  it('records the catalog origins of masked columns for the RowDescription cross-check', async () => {
    const plan = await rowsPlan('SELECT name FROM customers');
    const masked = [...plan.origins.values()].filter((m) => m.kind === 'mask-column');
    expect(masked).toHaveLength(4);
    expect(plan.relations.size).toBe(1);
  });
});
