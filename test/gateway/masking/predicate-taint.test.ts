import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

/**
 * Masking class 6 (predicates) and class 8 (name scoping) through the real gateway: a masked
 * column may reach the client only masked; anywhere it would decide which rows come back (or
 * how many, or in what order) the statement is refused, and names resolve as PostgreSQL does.
 */
const { sensitive } = maskingCorpus();
const POLICIES = ['policies/default.yaml', 'policies/examples/masking.yaml'];
const SETUP = `
CREATE TABLE t (v text); INSERT INTO t VALUES ('harmless');
CREATE VIEW vip AS SELECT id FROM customers WHERE api_token LIKE 'zq-7%';
`;

let bed: AttackBed;
let confirm: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: POLICIES, setup: SETUP });
  confirm = await startAttackBed({
    policies: POLICIES,
    yaml: { 'zz-confirm.yaml': 'masking:\n  - predicates: confirm\n' },
  });
});
afterAll(async () => {
  await bed?.close();
  await confirm?.close();
});

const REFUSED: string[] = [
  'SELECT g.g, a.a FROM customers c, generate_series(1, 16) g, generate_series(32, 126) a WHERE ascii(substr(c.api_token, g.g, 1)) = a.a',
  "SELECT string_agg(chr(a.a), '') FROM customers c, generate_series(1, 16) g, generate_series(32, 126) a WHERE ascii(substr(c.api_token, g.g, 1)) = a.a GROUP BY c.id",
  "SELECT id FROM customers WHERE api_token LIKE 'zq-7%'",
  "SELECT id FROM customers WHERE email IS NOT NULL AND ssn < '3'",
  'SELECT id FROM customers ORDER BY ssn',
  'SELECT id AS n, api_token AS id FROM customers ORDER BY id',
  'SELECT ssn FROM customers ORDER BY 1',
  'SELECT count(*) FROM customers GROUP BY substr(email, 1, 1)',
  'SELECT email, count(*) FROM customers GROUP BY 1',
  "SELECT 1 FROM customers HAVING max(ssn) > '2'",
  'SELECT id FROM customers LIMIT (SELECT length(api_token) FROM customers LIMIT 1)',
  "SELECT o.id FROM orders o JOIN customers c ON c.card_number LIKE '4%' AND c.id = o.customer_id",
  "SELECT c.id FROM customers c JOIN (VALUES ('078-05-1120')) v(ssn) USING (ssn)",
  "SELECT email FROM customers INTERSECT SELECT 'ada@engines.example.com'",
  "SELECT ssn FROM customers UNION SELECT '078-05-1120'",
  'SELECT DISTINCT api_token FROM customers',
  'SELECT DISTINCT ON (ssn) id FROM customers',
  "SELECT id FROM customers WHERE EXISTS (SELECT 1 WHERE api_token > 'zq-5')",
  "SELECT (SELECT count(*) FROM customers WHERE ssn < '3')",
  'SELECT generate_series(1, length(api_token)) FROM customers',
  "SELECT p FROM customers c, LATERAL unnest(string_to_array(c.email, '@')) p",
  'SELECT * FROM vip',
  "SELECT id FROM customers WHERE email = 'ada@engines.example.com'",
  'WITH RECURSIVE r(n, s) AS (SELECT 1, api_token FROM customers UNION SELECT n + 1, s FROM r WHERE n < 3) SELECT n FROM r',
];

describe('masked columns in predicates (class 6)', () => {
  it.each(REFUSED)('refuses %j before it runs, and nothing leaks', async (sql) => {
    for (const outcome of [await bed.psql(sql), await bed.node(sql)]) {
      expect(outcome.ok, outcome.output).toBe(false);
      expect(outcome.output).toMatch(
        /masking: .* is used in|returns as many rows|could fail on masked data|would decide whether parts/,
      );
      expect(findLeak(outcome.output, sensitive), outcome.output).toBeNull();
    }
  });

  it.each([
    "DELETE FROM customers WHERE api_token LIKE 'zq-9%'",
    "UPDATE orders SET status = 'x' WHERE customer_id IN (SELECT id FROM customers WHERE ssn LIKE '0%')",
    "INSERT INTO orders (id, customer_id, total) SELECT 500, id, 1 FROM customers WHERE card_number LIKE '4%'",
  ])('refuses the write %j, whose row count would answer the question, and leaves the data unchanged', async (sql) => {
    const before = await bed.fingerprint();
    const outcome = await bed.psql(sql);
    expect(outcome.ok, outcome.output).toBe(false);
    expect(outcome.output).toContain('masking');
    expect(await bed.fingerprint()).toBe(before);
  });

  it('masks the value of an aggregate or window function that a masked column orders or filters', async () => {
    const filtered = await bed.node(
      "SELECT count(*) FILTER (WHERE ssn LIKE '0%') AS n, count(*) AS total FROM customers",
    );
    expect(filtered.output).toBe('[[null,"3"]]');
    const ranked = await bed.node('SELECT row_number() OVER (ORDER BY ssn) AS r, id FROM customers ORDER BY id');
    expect(ranked.output).toBe('[[null,1],[null,2],[null,3]]');
    const ordered = await bed.psql("SELECT string_agg(name, ',' ORDER BY api_token) FROM customers");
    expect(ordered.output.trim()).toBe('****');
  });

  it('answers predicates over unmasked columns as a direct connection does', async () => {
    const sql = "SELECT id, name FROM customers WHERE id > 1 AND name LIKE '%a%' ORDER BY name DESC LIMIT 2";
    const direct = (await bed.direct(sql)).rows.map((r) => `${r.id}|${r.name}`).join('\n');
    expect((await bed.psql(sql)).output.trim()).toBe(direct);
    const grouped = 'SELECT customer_id, count(*) AS n FROM orders GROUP BY 1 ORDER BY n DESC, customer_id';
    const expected = (await bed.direct(grouped)).rows.map((r) => `${r.customer_id}|${r.n}`).join('\n');
    expect((await bed.psql(grouped)).output.trim()).toBe(expected);
  });

  it('with predicates: confirm, lets a masked column be compared with values the client holds', async () => {
    const byParam = await confirm.node('SELECT id FROM customers WHERE email = $1', ['alan@bletchley.example.org']);
    expect(byParam.output).toBe('[[2]]');
    const byList = await confirm.psql(
      "SELECT id FROM customers WHERE ssn IN ('078-05-1120', '000-00-0000') OR ssn IS NULL",
    );
    expect(byList.output.trim()).toBe('1');
    const rows = await confirm.psql("SELECT id, email FROM customers WHERE email = 'ada@engines.example.com'");
    expect(rows.output.trim()).toBe('1|****');
  });

  it.each([
    "SELECT id FROM customers WHERE email LIKE 'ada%'",
    'SELECT id FROM customers WHERE lower(email) = $1',
    'SELECT id FROM customers ORDER BY email',
    'SELECT id FROM customers WHERE email = ssn',
  ])('with predicates: confirm, still refuses %j', async (sql) => {
    const outcome = await confirm.node(sql, sql.includes('$1') ? ['x'] : []);
    expect(outcome.ok, outcome.output).toBe(false);
    expect(outcome.output).toContain('masking');
  });
});

describe('names resolved as PostgreSQL resolves them (class 8)', () => {
  it('reads a name in a subquery without LATERAL from the outer query, not from the FROM item beside it', async () => {
    const sql =
      "SELECT (SELECT x.v FROM (SELECT 'safe' AS v) s, (SELECT s.v) x) AS v FROM (SELECT api_token AS v FROM customers) s";
    const outcome = await bed.psql(sql);
    expect(findLeak(outcome.output, sensitive), outcome.output).toBeNull();
    expect(outcome.output.trim().split('\n')).toEqual(['****', '****', '****']);
  });

  it('follows a WITH RECURSIVE reference to a later CTE that shadows a table', async () => {
    const sql = 'WITH RECURSIVE a AS (SELECT v FROM t), t AS (SELECT api_token AS v FROM customers) SELECT v FROM a';
    const outcome = await bed.psql(sql);
    expect(findLeak(outcome.output, sensitive), outcome.output).toBeNull();
    expect(outcome.output.trim().split('\n')).toEqual(['****', '****', '****']);
    const plain = await bed.psql(
      'WITH a AS (SELECT v FROM t), t AS (SELECT api_token AS v FROM customers) SELECT v FROM a',
    );
    expect(plain.output.trim()).toBe('harmless');
  });

  it('sorts by an output column alias, not by the input column of the same name', async () => {
    const outcome = await bed.psql('SELECT api_token AS id FROM customers ORDER BY id');
    expect(outcome.ok).toBe(false);
    const honest = await bed.psql('SELECT id AS api_token FROM customers ORDER BY api_token DESC');
    expect(honest.output.trim()).toBe('3\n2\n1');
  });
});
