import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { effectiveLimits, estimateDecision, readDecision } from '../../../gateway/policy/blast-limits.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import { rowsChanged } from '../../../gateway/postgres/write-estimator.ts';

const identity = { sessionId: 's1', claims: {}, identityRule: 'deploy' };

function load(text: string) {
  return parsePolicyFiles([{ file: 'limits.yaml', text }]);
}

describe('limits: in the policy', () => {
  it('loads the shipped example with defaults applied', () => {
    const policy = load(readFileSync('policies/examples/exports-need-approval.yaml', 'utf8'));
    expect(policy.limits?.map((l) => [l.name, l.connections, l.overRead, l.overEstimate])).toEqual([
      ['exports-need-approval', ['*'], 'review', 'deny'],
      ['wide-writes', ['*'], 'deny', 'deny'],
    ]);
    expect(policy.limits?.[0]?.review?.timeoutSeconds).toBe(900);
  });

  it('refuses a misspelt bound, naming the file', () => {
    expect(() => load('limits:\n  - name: x\n    statement: { row_read: 5 }\n')).toThrow(/limits\.yaml.*row_read/s);
  });

  it('keeps the smallest bound per counter of every entry that applies, and which entry set it', () => {
    const policy = load(
      [
        'limits:',
        '  - { name: a, statement: { rows_read: 100, rows_written: 10 } }',
        '  - { name: b, connections: [app-*], statement: { rows_read: 50 }, session: { rows_written: 7 } }',
        '  - { name: c, connections: [other], statement: { rows_read: 1 } }',
        '  - { name: d, identities: [nightly], statement: { rows_read: 2 } }',
      ].join('\n'),
    );
    const limits = effectiveLimits(policy.limits, 'app-db', identity)!;
    expect(limits.statement.rowsRead).toMatchObject({ value: 50, limit: { name: 'b' } });
    expect(limits.statement.rowsWritten).toMatchObject({ value: 10, limit: { name: 'a' } });
    expect(limits.session.rowsWritten).toMatchObject({ value: 7, limit: { name: 'b' } });
    expect(effectiveLimits(policy.limits, 'billing', identity)?.statement.rowsRead?.value).toBe(100);
    expect(effectiveLimits([], 'app-db', identity)).toBeUndefined();
  });

  it('decides estimated writes: over a bound, over the session budget, and without an estimate (fail closed)', () => {
    const policy = load(
      'limits:\n  - { name: w, statement: { rows_written: 100 }, session: { rows_written: 150 }, over_estimate: review }\n',
    );
    const limits = effectiveLimits(policy.limits, 'app-db', identity)!;
    const write = (rows: number | null) => ({ statement: 'DELETE', tables: ['orders'], rows, why: 'no plan' });
    expect(estimateDecision(limits, { writes: [write(100)], sessionWritten: 0 })).toBeUndefined();
    expect(estimateDecision(limits, { writes: [write(101)], sessionWritten: 0 })).toMatchObject({
      action: 'review',
      rule: 'w',
    });
    expect(estimateDecision(limits, { writes: [write(60)], sessionWritten: 100 })?.reason).toMatch(
      /with the 100 rows this session already changed that is over its bound of 150 rows per session/,
    );
    expect(estimateDecision(limits, { writes: [write(null)], sessionWritten: 0 })?.reason).toMatch(
      /DELETE on orders could not be estimated \(no plan\)/,
    );
  });

  it('decides a read past its bound by the limit that set it (an unknown limit is a deny)', () => {
    const policy = load('limits:\n  - { name: r, statement: { rows_read: 5 }, over_read: review }\n');
    expect(readDecision(policy.limits?.[0], 'read more').action).toBe('review');
    expect(readDecision(undefined, 'read more')).toMatchObject({ action: 'deny', rule: 'limits' });
  });
});

describe("the planner's estimate of rows changed", () => {
  it('is the input of each ModifyTable node, not its own (RETURNING) rows', () => {
    const scan = { 'Node Type': 'Seq Scan', 'Plan Rows': 2000 };
    expect(rowsChanged({ 'Node Type': 'ModifyTable', 'Plan Rows': 0, Plans: [scan] })).toBe(2000);
    const cte = {
      'Node Type': 'Aggregate',
      'Plan Rows': 1,
      Plans: [{ 'Node Type': 'ModifyTable', 'Plan Rows': 2000, Plans: [scan] }],
    };
    expect(rowsChanged(cte)).toBe(2000);
    expect(rowsChanged({ 'Node Type': 'Result', 'Plan Rows': 3 })).toBe(3);
  });
});
