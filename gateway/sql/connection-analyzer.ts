import { analyzeSql, createAnalysisCache, type AnalysisCache } from './analyze-sql.ts';
import type { SqlParser } from './sql-parser.ts';
import { unknownStatement, type StatementAnalysis } from './statement-analysis.ts';

/**
 * Per-connection statement analysis. PostgreSQL remembers prepared statements per session
 * (SQL `PREPARE` and protocol-level Parse share one namespace), so a later `EXECUTE p` or
 * Bind/Execute is only as safe as what `p` was prepared as; this object remembers that.
 */
export interface ConnectionAnalyzer {
  /** A simple Query message (one or more statements); EXECUTE resolves to what was prepared. */
  analyzeQuery(sql: string): readonly StatementAnalysis[];
  /** A protocol Parse message; `statementName` '' is the unnamed statement. */
  analyzeParse(statementName: string, sql: string): readonly StatementAnalysis[];
  /** What a named statement was prepared as, for Bind/Execute/Describe; undefined when never prepared here. */
  forStatement(statementName: string): readonly StatementAnalysis[] | undefined;
  /** A protocol Close of a statement. */
  closeStatement(statementName: string): void;
  /**
   * The server completed this statement (one of the analyses this analyzer returned). A
   * DEALLOCATE or DISCARD ALL forgets names only now: parsed but never executed, or skipped
   * after an error, it left them on the server.
   */
  statementCompleted(analysis: StatementAnalysis): void;
}

export interface ConnectionAnalyzerOptions {
  maxStatementBytes?: number;
  /** Share one cache across connections (the gateway does); a private one is made otherwise. */
  cache?: AnalysisCache;
  /** The target's grammar, known once the target reported its version (default: the newest). */
  parser?: () => SqlParser;
}

/**
 * Every PREPARE of a name since it was last deallocated is kept: if a second PREPARE of the same
 * name failed on the server, the server still holds the first, so EXECUTE must pass for all.
 */
const MAX_CANDIDATES = 8;

export function createConnectionAnalyzer(options: ConnectionAnalyzerOptions = {}): ConnectionAnalyzer {
  const cache = options.cache ?? createAnalysisCache(256);
  const prepared = new Map<string, StatementAnalysis[]>();
  /** For each DEALLOCATE seen: the definitions it removes once it completes (later PREPAREs stay). */
  const deallocations = new WeakMap<StatementAnalysis, Map<string, StatementAnalysis[]>>();
  const analyze = (sql: string) =>
    analyzeSql(sql, { maxBytes: options.maxStatementBytes, cache, parser: options.parser?.() });

  function remember(name: string, analyses: readonly StatementAnalysis[], replace: boolean): void {
    const candidates = replace ? [] : (prepared.get(name) ?? []);
    candidates.push(...analyses);
    if (candidates.length > MAX_CANDIDATES) {
      prepared.set(name, [
        unknownStatement(
          analyses[0]?.text ?? '',
          `prepared statement "${name}" was prepared too many times without DEALLOCATE`,
        ),
      ]);
      return;
    }
    prepared.set(name, candidates);
  }

  /** Replaces EXECUTE stubs by what their name was prepared as, at the moment of asking. */
  function expand(analyses: readonly StatementAnalysis[], depth = 0): readonly StatementAnalysis[] {
    if (!analyses.some((a) => a.executeName !== undefined)) return analyses;
    return analyses.flatMap((a) => (a.executeName === undefined ? [a] : resolveExecute(a, depth)));
  }

  function resolveExecute(analysis: StatementAnalysis, depth: number): StatementAnalysis[] {
    const name = analysis.executeName!;
    const candidates = prepared.get(name);
    if (!candidates || depth > 3) {
      return [
        unknownStatement(
          analysis.text,
          `EXECUTE of prepared statement "${name}" that this connection never prepared through the gateway`,
          analysis.parseTree,
        ),
      ];
    }
    const resultGroup = {};
    const wrapper = analysis.command !== 'EXECUTE' ? [{ ...analysis, executeName: undefined, resultGroup }] : [];
    return [
      ...wrapper,
      ...expand(candidates, depth + 1).map((candidate) => ({
        ...candidate,
        // Masking plans a plain EXECUTE as the EXECUTE it is (it knows what the name was prepared as).
        parseTree: wrapper.length === 0 ? analysis.parseTree : candidate.parseTree,
        text: analysis.text,
        preparedName: undefined,
        resultGroup,
        explainAnalyze: candidate.explainAnalyze || analysis.explainAnalyze,
        functions: [...new Set([...candidate.functions, ...analysis.functions])],
        dangerousFunctions: [...new Set([...candidate.dangerousFunctions, ...analysis.dangerousFunctions])],
      })),
    ];
  }

  /** A protocol statement is one server statement: several candidates for its name are alternatives. */
  function asOneStatement(analyses: readonly StatementAnalysis[]): readonly StatementAnalysis[] {
    if (analyses.length <= 1) return analyses;
    const resultGroup = {};
    return analyses.map((a) => ({ ...a, resultGroup }));
  }

  function applySessionEffects(analyses: readonly StatementAnalysis[]): void {
    for (const analysis of analyses) {
      if (analysis.preparedName !== undefined) remember(analysis.preparedName, [analysis], false);
      if (analysis.deallocateName === undefined) continue;
      const names = analysis.deallocateName === null ? [...prepared.keys()] : [analysis.deallocateName];
      deallocations.set(analysis, new Map(names.map((name) => [name, [...(prepared.get(name) ?? [])]])));
    }
  }

  function analyzeQuery(sql: string): readonly StatementAnalysis[] {
    const analyses = analyze(sql);
    if (
      !analyses.some(
        (a) => a.preparedName !== undefined || a.executeName !== undefined || a.deallocateName !== undefined,
      )
    )
      return analyses;
    const out: StatementAnalysis[] = [];
    for (const analysis of analyses) {
      out.push(...expand([analysis]));
      applySessionEffects([analysis]);
    }
    return out;
  }

  return {
    analyzeQuery,
    analyzeParse(statementName, sql) {
      const analyses = analyze(sql);
      applySessionEffects(analyses);
      remember(statementName, analyses, statementName === '');
      return asOneStatement(expand(analyses));
    },
    forStatement(statementName) {
      const analyses = prepared.get(statementName);
      return analyses && asOneStatement(expand(analyses));
    },
    closeStatement: (statementName) => {
      prepared.delete(statementName);
    },
    statementCompleted(analysis) {
      const removed = deallocations.get(analysis);
      if (!removed) return;
      deallocations.delete(analysis);
      for (const [name, definitions] of removed) {
        const rest = (prepared.get(name) ?? []).filter((a) => !definitions.includes(a));
        if (rest.length > 0) prepared.set(name, rest);
        else prepared.delete(name);
      }
    },
  };
}
