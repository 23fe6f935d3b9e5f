import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

/**
 * Masking classes 6 and 10, second review: whether a statement fails is an answer too. Generic
 * errors keep their SQLSTATE, and even without it "error or rows" is one bit per query, so an
 * expression that can fail (a division, a cast, a length argument) or that decides whether
 * another part runs (CASE, COALESCE, AND/OR, FILTER) must never be fed masked data: each query
 * below answers "is character 4 of Ada's token '7'?" through an error, and is refused instead.
 */
const { sensitive } = maskingCorpus();
const POLICIES = ['policies/default.yaml', 'policies/examples/masking.yaml'];
const ADA = 'FROM customers WHERE id = 1';

let bed: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: POLICIES });
});
afterAll(async () => {
  await bed?.close();
});

/** Character 4 of the token through functions that never fail themselves. */
const C4 = 'left(right(api_token, 13), 1)';
const ORACLES: string[] = [
  `SELECT 1 / (ascii(${C4}) - 55) ${ADA}`,
  `SELECT (CASE WHEN ${C4} = '7' THEN 'x' ELSE '1' END)::int ${ADA}`,
  `SELECT CASE WHEN ${C4} = '7' THEN 1 / (id - 1) END ${ADA}`,
  `SELECT CASE ${C4} WHEN '7' THEN 1 / (id - 1) END ${ADA}`,
  `SELECT ${C4}::int ${ADA}`,
  `SELECT repeat('x', ascii(${C4}) - 56) ${ADA}`,
  `SELECT substr('abc', 1, ascii(${C4}) - 56) ${ADA}`,
  `SELECT substr(api_token, 4, 1)::int ${ADA}`,
  `SELECT coalesce(nullif(${C4}, '7'), (1 / (id - 1))::text) ${ADA}`,
  `SELECT (${C4} = '7') AND (1 / (id - 1) = 1) ${ADA}`,
  `SELECT ${C4} IN ('7', (1 / (id - 1))::text) ${ADA}`,
  `SELECT count(1 / (id - 1)) FILTER (WHERE ${C4} = '7') ${ADA}`,
  `SELECT t::int FROM (SELECT ${C4} AS t ${ADA}) s`,
  `SELECT (${C4} || '0')::json ${ADA}`,
  `SELECT chr(ascii(${C4}) - 55) ${ADA}`,
  `SELECT api_token::regoper ${ADA}`,
];

describe('errors decided by masked data (classes 6, 10)', () => {
  it.each(ORACLES)('refuses %j before it runs', async (sql) => {
    for (const outcome of [await bed.psql(sql), await bed.node(sql)]) {
      expect(outcome.ok, outcome.output).toBe(false);
      expect(outcome.output).toMatch(/gatehouse: masking: .*(fail|decide)/);
      expect(findLeak(outcome.output, sensitive)).toBeNull();
    }
  });

  it.each([
    ["SELECT upper(email), length(api_token), api_token || '', md5(ssn) FROM customers ORDER BY id", '****'],
    ["SELECT coalesce(email, 'none'), email IS NULL, email = 'x' FROM customers ORDER BY id", '****'],
    ['SELECT count(api_token), max(api_token), max(left(card_number, 2)) FROM customers', '****'],
    ['SELECT id, 10 / id, CASE WHEN id = 1 THEN name END FROM customers ORDER BY id', 'Ada Lovelace'],
  ])('still answers %j, masked', async (sql, expected) => {
    const outcome = await bed.psql(sql);
    expect(outcome.ok, outcome.output).toBe(true);
    expect(outcome.output).toContain(expected);
    expect(findLeak(outcome.output, sensitive)).toBeNull();
  });
});
