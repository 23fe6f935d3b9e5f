import { listOf, stringOf } from './analysis-types.ts';
import { isBuiltinObject, type MaskingCatalog } from './catalog.ts';
import type { MaskingConfig } from './masking-config.ts';

/** Statements that run SQL the gateway never sees, able to copy masked data anywhere. */
const HIDDEN_CODE: ReadonlySet<string> = new Set([
  'DoStmt',
  'CreateFunctionStmt',
  'CreateTrigStmt',
  'RuleStmt',
  'CreateEventTrigStmt',
  // Operators, aggregates, casts, conversions and transforms run their functions where no statement names them.
  'DefineStmt',
  'CreateCastStmt',
  'CreateConversionStmt',
  'CreateTransformStmt',
  'AlterFunctionStmt',
]);

/** The kinds of CREATE (DefineStmt) that name functions to run later. */
const FUNCTION_DEFINITIONS: ReadonlySet<string> = new Set(['OBJECT_AGGREGATE', 'OBJECT_OPERATOR', 'OBJECT_TYPE']);

/**
 * DDL that, aimed at a relation with masked columns, would move its data out from under its rules
 * (rename, new schema, inheritance, publication) or run expressions over it (index, statistics, row policies).
 */
const RELATION_DDL: ReadonlySet<string> = new Set([
  'AlterTableStmt',
  'RenameStmt',
  'AlterObjectSchemaStmt',
  'IndexStmt',
  'CreateStatsStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'CreatePublicationStmt',
  'AlterPublicationStmt',
]);

/** Built-ins that run SQL text of their own (and so read any column). */
const SQL_RUNNING_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
]);

/**
 * Why a DDL statement must not run while columns are masked on the connection, or null. Views
 * are not checked here: their definitions are analysed whenever they are read.
 */
export async function ddlRefusal(
  kind: string,
  body: Record<string, unknown>,
  catalog: MaskingCatalog,
  config: MaskingConfig,
): Promise<string | null> {
  if (!config.hasColumnRules) return null;
  const what = kind.replace(/Stmt$/, '');
  if (HIDDEN_CODE.has(kind) && (kind !== 'DefineStmt' || FUNCTION_DEFINITIONS.has(String(body.kind)))) {
    return `${what} runs code masking cannot follow while columns are masked on this connection; run it outside a masked session`;
  }
  if (RELATION_DDL.has(kind)) {
    const masked = await maskedRelationIn(body, catalog, config);
    if (masked)
      return `${what} on ${masked} would move masked columns out from under their masking rules; change it outside a masked session`;
  }
  if (kind === 'ViewStmt' && body.replace === true) {
    const view = body.view as Record<string, unknown>;
    const schema = typeof view.schemaname === 'string' ? view.schemaname : null;
    const filled = await catalog.matviewOver(schema, String(view.relname));
    if (filled)
      return `materialized view ${filled} was filled through view ${String(view.relname)}; replacing the view would make masking read its rows by a definition they were not filled with; refresh or recreate it outside a masked session`;
  }
  if (kind !== 'ViewStmt') {
    const opaque = await opaqueFunctionIn(body, catalog);
    if (opaque) {
      return `${what} stores a call to ${opaque}() (a default, check or index expression) that could write masked data where masking cannot follow; use built-in functions`;
    }
  }
  return null;
}

async function maskedRelationIn(tree: unknown, catalog: MaskingCatalog, config: MaskingConfig): Promise<string | null> {
  for (const rv of rangeVars(tree)) {
    const schema = typeof rv.schemaname === 'string' ? rv.schemaname : null;
    const name = String(rv.relname);
    const rels = schema ? [await catalog.relation(schema, name)] : await catalog.relationsNamed(name);
    for (const rel of rels) {
      if (rel && rel.columns.some((c) => config.columnRule(rel.schema, rel.name, c.name)))
        return `${rel.schema}.${rel.name}`;
    }
  }
  return null;
}

/** The first function in a DDL tree that is user-defined or runs SQL of its own. */
async function opaqueFunctionIn(tree: unknown, catalog: MaskingCatalog): Promise<string | null> {
  for (const call of funcCalls(tree)) {
    const parts = listOf(call.funcname).map(stringOf);
    const name = (parts[parts.length - 1] ?? '').toLowerCase();
    const schema = parts.length >= 2 ? parts[parts.length - 2] : null;
    if (SQL_RUNNING_FUNCTIONS.has(name)) return name;
    if (schema && schema !== 'pg_catalog') return name;
    if (!schema && !(await catalog.functions(name)).every(isBuiltinObject)) return name;
  }
  return null;
}

function* funcCalls(tree: unknown): Generator<Record<string, unknown>> {
  if (tree === null || typeof tree !== 'object') return;
  if (Array.isArray(tree)) {
    for (const t of tree) yield* funcCalls(t);
    return;
  }
  for (const [key, value] of Object.entries(tree as Record<string, unknown>)) {
    if (key === 'FuncCall' && value && typeof value === 'object') yield value as Record<string, unknown>;
    yield* funcCalls(value);
  }
}

function* rangeVars(tree: unknown): Generator<Record<string, unknown>> {
  if (tree === null || typeof tree !== 'object') return;
  if (Array.isArray(tree)) {
    for (const t of tree) yield* rangeVars(t);
    return;
  }
  const obj = tree as Record<string, unknown>;
  if (typeof obj.relname === 'string') yield obj;
  for (const v of Object.values(obj)) yield* rangeVars(v);
}
