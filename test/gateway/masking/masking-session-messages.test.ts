import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

/**
 * Masking class 10 through the real gateway: the error (or notice) of a statement that touched
 * masked data reaches the client as a generic message with the same SQLSTATE, whatever the server
 * wrote into it; the audit log keeps the original, with its quoted values hidden.
 */
const { sensitive } = maskingCorpus();

let bed: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml', 'policies/examples/masking.yaml'] });
});
afterAll(async () => {
  await bed?.close();
});

/** The static test token's session (see gateway-harness.ts) writes the audit events of these tests. */
async function auditedResults(): Promise<Record<string, unknown>[]> {
  const events = await bed.gateway.store.listAuditEvents('static-ci');
  return events.filter((e) => e.type === 'statement.result').map((e) => e.data as Record<string, unknown>);
}

describe('errors of statements over masked data (class 10)', () => {
  it.each([
    ['SELECT api_token::regoper FROM customers', '42883'],
    ['SELECT api_token::regclass FROM customers', '42P01'],
    ['SELECT api_token::int FROM customers', '22P02'],
    ['SELECT ssn::date FROM customers', '22008'],
    ['SELECT email::uuid FROM customers', '22P02'],
    ['SELECT email::jsonb FROM customers', '22P02'],
    ['SELECT (SELECT api_token FROM customers WHERE id = 2)::regtype', '42601'],
  ])(
    'refuses %j (SQLSTATE %s directly) before it runs: whether the cast fails would tell the value',
    async (sql, code) => {
      const direct = await bed.direct(sql).then(
        () => undefined,
        (e: { code: string; message: string }) => e,
      );
      expect(direct?.code).toBe(code);
      for (const outcome of [await bed.node(sql), await bed.psql(sql)]) {
        expect(outcome.ok).toBe(false);
        expect(outcome.output).toContain('could fail on masked data');
        expect(findLeak(outcome.output, sensitive), outcome.output).toBeNull();
      }
    },
  );

  it.each([
    ['SELECT api_token, 1 / (id - id) FROM customers', '22012'],
    ['UPDATE customers SET name = NULL WHERE id = 1', '23502'],
  ])('answers %j with a generic message and SQLSTATE %s, no value in it', async (sql, code) => {
    for (const outcome of [await bed.node(sql), await bed.psql(sql)]) {
      expect(outcome.ok).toBe(false);
      expect(outcome.output).toContain(`hidden (SQLSTATE ${code})`);
      expect(findLeak(outcome.output, sensitive), outcome.output).toBeNull();
    }
  });

  it('keeps the original message in the audit log, quoted values hidden, and only the generic one where reviewers see it', async () => {
    await bed.node('SELECT api_token, 1 / (id - id) FROM customers WHERE id = 3');
    let results: Record<string, unknown>[] = [];
    for (let i = 0; i < 50 && !results.some((r) => r.sqlstate === '22012'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      results = await auditedResults();
    }
    const result = results.find((r) => r.sqlstate === '22012')!;
    expect(result.error).toContain('hidden (SQLSTATE 22012)');
    expect(result.error_hidden).toBe('division by zero');
  });

  it('shows the error of a statement over no masked data as PostgreSQL wrote it', async () => {
    const outcome = await bed.node('SELECT name::int FROM customers WHERE id = 1');
    expect(outcome).toMatchObject({ ok: false, code: '22P02' });
    expect(outcome.output).toContain('invalid input syntax for type integer: "Ada Lovelace"');
  });
});
