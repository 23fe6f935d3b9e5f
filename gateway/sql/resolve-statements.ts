import { createLruCache } from './lru-cache.ts';
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

/**
 * Every fact resolution reads (see `extrasOf` in resolved-code.ts: keep the two in step, a fact
 * left out here lets one statement's members answer for another's): two statements with equal
 * facts resolve to the same members. Simple-protocol clients send each literal anew, so their analyses are new arrays
 * the identity cache never knows; keyed by facts, they are resolved synchronously once warm.
 */
function factsKey(a: StatementAnalysis): string {
  return JSON.stringify([
    a.kind,
    a.command,
    a.functions,
    a.operators ?? null,
    a.casts ?? null,
    a.tablesRead,
    a.tablesWritten,
    a.ddlObjects ?? null,
    a.settings ?? null,
  ]);
}

/** One statement followed by its members, as `withMembers` makes them: one fresh result group. */
function withExtras(statement: StatementAnalysis, extras: readonly StatementAnalysis[]) {
  if (extras.length === 0) return Object.freeze([statement]);
  const resultGroup = {};
  return Object.freeze([{ ...statement, resultGroup }, ...extras.map((e) => ({ ...e, resultGroup }))]);
}

/** A lone statement of the client's own (no group), which the facts cache may serve. */
function loneStatement(statements: readonly StatementAnalysis[]): StatementAnalysis | undefined {
  const [only] = statements;
  return statements.length === 1 && only!.resultGroup === undefined && Object.isFrozen(statements) ? only : undefined;
}

const FACTS_CACHE_ENTRIES = 1024;

export function createStatementResolver(options: StatementResolverOptions): StatementResolver {
  const { catalog } = options;
  const cache = new WeakMap<
    readonly StatementAnalysis[],
    { generation: number; value: readonly StatementAnalysis[] }
  >();
  const byFacts = createLruCache<{ generation: number; extras: readonly StatementAnalysis[] }>(FACTS_CACHE_ENTRIES);

  async function resolveNow(statements: readonly StatementAnalysis[], generation: number, factsOf?: string) {
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
    if (catalog.generation() === generation && Object.isFrozen(statements)) {
      cache.set(statements, { generation, value: resolved });
      if (factsOf !== undefined) byFacts.set(factsOf, { generation, extras: resolved.slice(1) });
    }
    return resolved;
  }

  return {
    resolve(statements) {
      if (!statements.some(resolvable)) return statements;
      const generation = catalog.generation();
      const hit = cache.get(statements);
      if (hit && hit.generation === generation) return hit.value;
      const lone = loneStatement(statements);
      const key = lone ? factsKey(lone) : undefined;
      const known = key === undefined ? undefined : byFacts.get(key);
      if (lone && known && known.generation === generation) {
        const value = withExtras(lone, known.extras);
        cache.set(statements, { generation, value });
        return value;
      }
      return resolveNow(statements, generation, key);
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
