// Policy decision time: analysis (+ target resolution) + engine for one statement, with the shipped default policy.
// Runnable alone: node --import tsx bench/policy-decision.ts
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createPolicyEngine } from '../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../gateway/policy/load-policies.ts';
import type { Action, Identity } from '../gateway/policy/actions-and-decisions.ts';
import { analyzeSql, createAnalysisCache, loadSqlParser } from '../gateway/sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../gateway/sql/connection-analyzer.ts';
import { createPgTargetCatalog } from '../gateway/sql/pg-target-catalog.ts';
import { createStatementResolver } from '../gateway/sql/resolve-statements.ts';
import type { TargetQueryable } from '../gateway/sql/target-catalog.ts';
import { renderTable, type BenchRow } from './bench-table.ts';

export const POLICY_DECISION_GOALS_US = { cached: 5, fresh: 100 } as const;

const SQL = 'SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * A stand-in for the target's metadata connection that answers the resolver's catalog queries
 * from memory: the bench measures the gateway's own work on a warm catalog, not a round trip.
 */
function inMemoryTarget(): TargetQueryable {
  const tables = [
    { oid: 16400, schema: 'public', name: 'orders', kind: 'r' },
    { oid: 16410, schema: 'public', name: 'customers', kind: 'r' },
  ];
  return {
    async query(text: string, values?: unknown[]) {
      if (text.includes('FROM pg_settings')) return { rows: [{ name: 'work_mem', context: 'user' }] };
      if (text.includes('relname = ANY')) {
        const names = (values?.[0] as string[]) ?? [];
        return { rows: tables.filter((t) => names.includes(t.name)) };
      }
      return { rows: [] };
    },
  };
}

/**
 * Median time of one decision (analysis of the query text + `engine.decide`) for a statement
 * whose text was seen before (analysis cache hit) and for a never-seen text (a full parse), each
 * also with the target resolution every PostgreSQL statement now passes (functions and relations
 * resolved in the target's catalog, here warm and in memory).
 */
export async function benchPolicyDecision(samples = 2000): Promise<BenchRow[]> {
  await loadSqlParser();
  const text = readFileSync(new URL('../policies/default.yaml', import.meta.url), 'utf8');
  const engine = createPolicyEngine(parsePolicyFiles([{ file: 'policies/default.yaml', text }]));
  const identity: Identity = { sessionId: 'bench', claims: { repository: 'acme/app' }, identityRule: 'bench' };

  // Each variant gets its own cache, so one's fresh statements do not age the other's entries.
  const measure = async (resolve: boolean) => {
    const cache = createAnalysisCache();
    const analyzer = createConnectionAnalyzer({ cache });
    const resolver = createStatementResolver({
      catalog: createPgTargetCatalog(inMemoryTarget(), { maxAgeMs: 3_600_000 }),
      analyze: (sql) => analyzeSql(sql, { cache }),
    });
    const decide = async (sql: string) => {
      const analyzed = analyzer.analyzeQuery(sql);
      const statements = resolve ? await resolver.resolve(analyzed) : analyzed;
      const action: Action = { type: 'pg.query', via: 'simple', sql, statements, connection: 'app-db', identity };
      return engine.decide(action);
    };
    const cachedSql = `${SQL}1`;
    for (let i = 0; i < 5000; i++) await decide(cachedSql);
    const batch = 200;
    const cached: number[] = [];
    for (let s = 0; s < samples; s++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) await decide(cachedSql);
      cached.push(Number(process.hrtime.bigint() - started) / batch / 1000);
    }
    for (let i = 0; i < 2000; i++) await decide(`${SQL}${1_000_000 + i}`);
    const fresh: number[] = [];
    for (let s = 0; s < samples; s++) {
      const sql = `${SQL}${2_000_000 + s}`;
      const started = process.hrtime.bigint();
      await decide(sql);
      fresh.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    return { cached: median(cached), fresh: median(fresh) };
  };

  const row = (name: string, us: number, goal: number): BenchRow => ({
    benchmark: name,
    gateway: `${us.toFixed(2)} µs median`,
    ratio: us <= goal ? 'meets goal' : 'over goal',
    goal: `≤ ${goal} µs`,
  });
  const plain = await measure(false);
  const resolved = await measure(true);
  return [
    row('policy decision, cached statement', plain.cached, POLICY_DECISION_GOALS_US.cached),
    row('policy decision, fresh statement (parse + analyse + decide)', plain.fresh, POLICY_DECISION_GOALS_US.fresh),
    row('policy decision + target resolution, cached statement', resolved.cached, POLICY_DECISION_GOALS_US.cached),
    row('policy decision + target resolution, fresh statement', resolved.fresh, POLICY_DECISION_GOALS_US.fresh),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${renderTable(await benchPolicyDecision())}\n`);
}
