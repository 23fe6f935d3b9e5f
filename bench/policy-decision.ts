// Policy decision time: analysis + engine for one statement, with the shipped default policy.
// Runnable alone: node --import tsx bench/policy-decision.ts
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createPolicyEngine } from '../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../gateway/policy/load-policies.ts';
import type { Action, Identity } from '../gateway/policy/types.ts';
import { createAnalysisCache, loadSqlParser } from '../gateway/sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../gateway/sql/connection-analyzer.ts';
import { renderTable, type BenchRow } from './bench-table.ts';

export const POLICY_DECISION_GOALS_US = { cached: 5, fresh: 100 } as const;

const SQL = 'SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Median time of one decision (analysis of the query text + `engine.decide`) for a statement
 * whose text was seen before (analysis cache hit) and for a never-seen text (a full parse).
 */
export async function benchPolicyDecision(samples = 2000): Promise<BenchRow[]> {
  await loadSqlParser();
  const text = readFileSync(new URL('../policies/default.yaml', import.meta.url), 'utf8');
  const engine = createPolicyEngine(parsePolicyFiles([{ file: 'policies/default.yaml', text }]));
  const analyzer = createConnectionAnalyzer({ cache: createAnalysisCache() });
  const identity: Identity = { sessionId: 'bench', claims: { repository: 'acme/app' }, identityRule: 'bench' };
  const decide = (sql: string) => {
    const action: Action = {
      type: 'pg.query',
      via: 'simple',
      sql,
      statements: analyzer.analyzeQuery(sql),
      connection: 'app-db',
      identity,
    };
    return engine.decide(action);
  };

  const cachedSql = `${SQL}1`;
  for (let i = 0; i < 5000; i++) decide(cachedSql);
  const batch = 200;
  const cached: number[] = [];
  for (let s = 0; s < samples; s++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) decide(cachedSql);
    cached.push(Number(process.hrtime.bigint() - started) / batch / 1000);
  }

  for (let i = 0; i < 2000; i++) decide(`${SQL}${1_000_000 + i}`);
  const fresh: number[] = [];
  for (let s = 0; s < samples; s++) {
    const sql = `${SQL}${2_000_000 + s}`;
    const started = process.hrtime.bigint();
    decide(sql);
    fresh.push(Number(process.hrtime.bigint() - started) / 1000);
  }

  const row = (name: string, us: number, goal: number): BenchRow => ({
    benchmark: name,
    gateway: `${us.toFixed(2)} µs median`,
    ratio: us <= goal ? 'meets goal' : 'over goal',
    goal: `≤ ${goal} µs`,
  });
  return [
    row('policy decision, cached statement', median(cached), POLICY_DECISION_GOALS_US.cached),
    row('policy decision, fresh statement (parse + analyse + decide)', median(fresh), POLICY_DECISION_GOALS_US.fresh),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${renderTable(await benchPolicyDecision())}\n`);
}
