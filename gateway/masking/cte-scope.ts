import { RAW } from './column-mask.ts';
import { listOf, nodeOf, stringOf, type AnalysisContext, type QueryShape, type Scope } from './analysis-types.ts';
import { refuseShapeInfluence } from './predicate-taint.ts';
import { analyzeQueryNode, mergeShapes, renamed, unknownShape } from './query-shape.ts';

/** Extra passes over a WITH RECURSIVE list beyond one per CTE before it is declared unsettled. */
const MAX_RECURSIVE_PASSES = 4;

/** The scope a statement's WITH clause opens: its CTEs by name, resolved as PostgreSQL resolves them. */
export async function withCtes(
  body: Record<string, unknown>,
  parent: Scope | null,
  ctx: AnalysisContext,
): Promise<Scope> {
  const scope: Scope = { entries: [], ctes: new Map(), parent };
  const withClause = body.withClause as Record<string, unknown> | undefined;
  if (!withClause) return scope;
  const ctes = listOf(withClause.ctes)
    .map((node) => nodeOf(node)?.[1])
    .filter((cte): cte is Record<string, unknown> => cte !== undefined);
  const analyse = async (cte: Record<string, unknown>) => {
    const shape = renamed(await analyzeQueryNode(cte.ctequery, scope, ctx), listOf(cte.aliascolnames).map(stringOf));
    if (cte.search_clause || cte.cycle_clause) refuseShapeInfluence(shape, 'a recursive query', ctx);
    return shape;
  };
  if (!withClause.recursive) {
    // Each CTE sees the ones before it only; a later name is still a table.
    for (const cte of ctes) scope.ctes.set(String(cte.ctename), await analyse(cte));
    return scope;
  }
  await recursiveCtes(ctes, scope, analyse);
  return scope;
}

/** Nothing known yet about a recursive CTE: the start of the fixpoint. */
const NOT_YET: QueryShape = Object.freeze({ columns: null, fallback: RAW });

/**
 * WITH RECURSIVE: every CTE sees every other, before or after it (a forward reference to a later
 * CTE shadows a table of that name). Shapes start from nothing and only grow stricter, pass by
 * pass, until none changes; a list that does not settle is masked whole.
 */
async function recursiveCtes(
  ctes: Record<string, unknown>[],
  scope: Scope,
  analyse: (cte: Record<string, unknown>) => Promise<QueryShape>,
): Promise<void> {
  for (const cte of ctes) scope.ctes.set(String(cte.ctename), NOT_YET);
  let stable = false;
  for (let pass = 0; pass < ctes.length + MAX_RECURSIVE_PASSES && !stable; pass++) {
    stable = true;
    for (const cte of ctes) {
      const name = String(cte.ctename);
      const previous = scope.ctes.get(name)!;
      const next = await analyse(cte);
      const merged = previous === NOT_YET ? next : mergeShapes(previous, next);
      if (previous === NOT_YET || JSON.stringify(merged) !== JSON.stringify(previous)) stable = false;
      scope.ctes.set(name, merged);
    }
  }
  if (stable) return;
  for (const cte of ctes)
    scope.ctes.set(String(cte.ctename), unknownShape(`recursive CTE ${String(cte.ctename)} did not settle`));
}
