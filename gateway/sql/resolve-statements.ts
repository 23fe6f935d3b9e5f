import { extrasOf, type ResolutionContext } from './resolved-code.ts';
import { resultGroups, unknownStatement, type StatementAnalysis } from './statement-analysis.ts';
import type { TargetCatalog } from './target-catalog.ts';

/**
 * Completes statement analyses with what the target says they run, before the policy engine
 * decides: the bodies of the functions they call (looked up by OID), the code attached to the
 * relations they touch (triggers, rules, views, defaults, checks, policies), built-in objects and
 * superuser settings they change. The engine stays pure; this is the adapter's I/O before it.
 */
export interface StatementResolver {
  /** The statements, each followed by what it also runs (one result group); synchronous when cached. */
  resolve(
    statements: readonly StatementAnalysis[],
  ): readonly StatementAnalysis[] | Promise<readonly StatementAnalysis[]>;
}

export interface StatementResolverOptions {
  catalog: TargetCatalog;
  /** Analyses SQL the target prints back (function and view definitions, rules) with the target's grammar. */
  analyze: (sql: string) => readonly StatementAnalysis[];
  log?: (message: string) => void;
}

/** Whether the target could add anything to a statement: it names something to resolve. */
function resolvable(a: StatementAnalysis): boolean {
  return (
    a.kind !== 'unknown' &&
    (a.functions.length > 0 ||
      (a.operators?.length ?? 0) > 0 ||
      (a.casts?.length ?? 0) > 0 ||
      a.tablesRead.length > 0 ||
      a.tablesWritten.length > 0 ||
      (a.ddlObjects?.length ?? 0) > 0 ||
      (a.settings?.length ?? 0) > 0)
  );
}

export function createStatementResolver(options: StatementResolverOptions): StatementResolver {
  const { catalog } = options;
  const cache = new WeakMap<
    readonly StatementAnalysis[],
    { generation: number; value: readonly StatementAnalysis[] }
  >();

  async function resolveNow(statements: readonly StatementAnalysis[], generation: number) {
    let resolved: readonly StatementAnalysis[];
    try {
      const ctx: ResolutionContext = {
        catalog,
        index: await catalog.functions(),
        analyze: options.analyze,
        visiting: new Set(),
      };
      resolved = await withMembers(ctx, statements);
    } catch (error) {
      options.log?.(`the target catalog could not be read: ${(error as Error).message}`);
      return statements.map((s) =>
        unknownStatement(
          s.text,
          `the target's catalog could not be read to resolve what it runs (${(error as Error).message}); retry`,
          s.parseTree,
        ),
      );
    }
    if (catalog.generation() === generation && Object.isFrozen(statements))
      cache.set(statements, { generation, value: resolved });
    return resolved;
  }

  return {
    resolve(statements) {
      if (!statements.some(resolvable)) return statements;
      const generation = catalog.generation();
      const hit = cache.get(statements);
      if (hit && hit.generation === generation) return hit.value;
      return resolveNow(statements, generation);
    },
  };
}

/** Each result group gets the members of its statements appended, so they stay one server statement. */
async function withMembers(ctx: ResolutionContext, statements: readonly StatementAnalysis[]) {
  const out: StatementAnalysis[] = [];
  for (const group of resultGroups(statements)) {
    const extras: StatementAnalysis[] = [];
    for (const statement of group) if (resolvable(statement)) extras.push(...(await extrasOf(ctx, statement, 0)));
    if (extras.length === 0) {
      out.push(...group);
      continue;
    }
    const resultGroup = group[0]!.resultGroup ?? {};
    out.push(...group.map((s) => (s.resultGroup === resultGroup ? s : { ...s, resultGroup })));
    out.push(...extras.map((e) => ({ ...e, resultGroup })));
  }
  return Object.freeze(out);
}
