import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../../../gateway/sql/connection-analyzer.ts';
import { createPolicyEngine, type PolicyEngine } from '../../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import type { Action, Identity } from '../../../gateway/policy/actions-and-decisions.ts';

interface CorpusCase {
  sql: string;
  via?: 'extended';
  guard: 'allow' | 'deny';
  read_only: 'allow' | 'deny';
}

const corpus = parse(readFileSync(new URL('../../fixtures/corpus/guardrails.yaml', import.meta.url), 'utf8')) as {
  cases: CorpusCase[];
};
const policyText = (path: string) => readFileSync(new URL(`../../../policies/${path}`, import.meta.url), 'utf8');
const identity: Identity = { sessionId: 'corpus', claims: { repository: 'acme/app' }, identityRule: 'corpus' };

const baselines = {
  guard: () =>
    createPolicyEngine(parsePolicyFiles([{ file: 'policies/default.yaml', text: policyText('default.yaml') }])),
  read_only: () =>
    createPolicyEngine(
      parsePolicyFiles([{ file: 'policies/examples/read-only.yaml', text: policyText('examples/read-only.yaml') }]),
    ),
} as const;

function decideCase(engine: PolicyEngine, c: CorpusCase) {
  const analyzer = createConnectionAnalyzer({ maxStatementBytes: 65536 });
  const statements = c.via === 'extended' ? analyzer.analyzeParse('', c.sql) : analyzer.analyzeQuery(c.sql);
  const action: Action = {
    type: 'pg.query',
    via: c.via === 'extended' ? 'extended' : 'simple',
    sql: c.sql,
    statements,
    connection: 'app-db',
    identity,
  };
  return engine.decide(action);
}

beforeAll(async () => {
  await loadSqlParser();
});

for (const baseline of ['guard', 'read_only'] as const) {
  describe(`the ${baseline} baseline`, () => {
    let engine: PolicyEngine;
    beforeAll(() => {
      engine = baselines[baseline]();
    });

    it.each(corpus.cases.map((c) => [c.sql, c] as const))(
      `decides the corpus case %j as the corpus expects`,
      (_sql, c) => {
        const decision = decideCase(engine, c);
        expect(decision.action).toBe(c[baseline]);
        expect(decision.rule).not.toBe('');
        expect(decision.reason).not.toBe('');
      },
    );
  });
}
