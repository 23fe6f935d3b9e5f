type Body = Record<string, unknown>;

/**
 * Schemas whose objects are the server itself: the built-in functions, types and catalogs. A
 * statement that changes an object in one of them (rename, move, replace, drop, a trigger or rule
 * on a catalog, a write to a catalog or system view) changes what every later statement means,
 * so it is administration whatever its command tag says.
 */
export const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/** What kind of object a DDL statement names, for resolving an unqualified name in the target's catalog. */
export const DDL_OBJECT_TYPES = ['function', 'type', 'relation', 'other'] as const;
export type DdlObjectType = (typeof DDL_OBJECT_TYPES)[number];

/**
 * An existing object a statement changes (or a schema it moves something into), as written.
 * `resolve` is false for an object the statement creates: an unqualified new name lands in the
 * creation schema, never in pg_catalog.
 */
export interface DdlObject {
  type: DdlObjectType;
  /** Name parts as written, e.g. ['pg_read_file'] or ['pg_catalog', 'lower']. */
  names: readonly string[];
  /** Argument count of a function named with its signature; undefined when not given. */
  nargs?: number;
  resolve: boolean;
}

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(list: unknown): string[] {
  return (Array.isArray(list) ? list : [])
    .map((item) => (isBody(item) && isBody(item.String) ? String(item.String.sval ?? '') : ''))
    .filter((s) => s !== '');
}

const FUNCTION_OBJECTS = new Set([
  'OBJECT_FUNCTION',
  'OBJECT_PROCEDURE',
  'OBJECT_ROUTINE',
  'OBJECT_AGGREGATE',
  'OBJECT_OPERATOR',
]);
const TYPE_OBJECTS = new Set(['OBJECT_TYPE', 'OBJECT_DOMAIN']);
const RELATION_OBJECTS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_INDEX',
]);

function typeOf(objtype: unknown): DdlObjectType {
  const t = String(objtype ?? '');
  if (FUNCTION_OBJECTS.has(t)) return 'function';
  if (TYPE_OBJECTS.has(t)) return 'type';
  if (RELATION_OBJECTS.has(t)) return 'relation';
  return 'other';
}

/** One object reference (RangeVar, ObjectWithArgs, List of names, TypeName, String) to a DdlObject. */
function objectOf(node: unknown, type: DdlObjectType, resolve: boolean): DdlObject | undefined {
  if (!isBody(node)) return undefined;
  if (typeof node.relname === 'string') {
    const names = [node.schemaname, node.relname].filter((p): p is string => typeof p === 'string' && p !== '');
    return { type: 'relation', names, resolve };
  }
  const [key, inner] = Object.entries(node)[0] ?? [];
  if (key === 'RangeVar' && isBody(inner)) return objectOf(inner, 'relation', resolve);
  if (key === 'ObjectWithArgs' && isBody(inner)) return functionObject(inner, type, resolve);
  if (key === 'List' && isBody(inner)) return { type, names: strings(inner.items), resolve };
  if (key === 'TypeName' && isBody(inner)) return { type: 'type', names: strings(inner.names), resolve };
  if (key === 'String' && isBody(inner)) return { type, names: [String(inner.sval ?? '')], resolve };
  if (Array.isArray(node.names)) return { type: 'type', names: strings(node.names), resolve };
  if (Array.isArray(node.objname)) return functionObject(node, type, resolve);
  return undefined;
}

function functionObject(body: Body, type: DdlObjectType, resolve: boolean): DdlObject {
  const args = body.args_unspecified === true || !Array.isArray(body.objargs) ? undefined : body.objargs.length;
  return { type: type === 'other' ? 'function' : type, names: strings(body.objname), nargs: args, resolve };
}

/** Statement fields that name the object a DDL statement changes (not the types or functions it merely uses). */
const CHANGED_OBJECT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  RenameStmt: ['object', 'relation'],
  AlterObjectSchemaStmt: ['object', 'relation'],
  AlterOwnerStmt: ['object', 'relation'],
  AlterObjectDependsStmt: ['object', 'relation'],
  AlterFunctionStmt: ['func'],
  AlterOperatorStmt: ['opername'],
  CommentStmt: ['object'],
  SecLabelStmt: ['object'],
  DropStmt: ['objects'],
  AlterTableStmt: ['relation'],
  AlterSeqStmt: ['sequence'],
  AlterDomainStmt: ['typeName'],
  AlterTypeStmt: ['typeName'],
  AlterEnumStmt: ['typeName'],
  IndexStmt: ['relation'],
  CreateTrigStmt: ['relation'],
  RuleStmt: ['relation'],
  CreatePolicyStmt: ['table'],
  AlterPolicyStmt: ['table'],
  CreateStatsStmt: ['relations'],
  RefreshMatViewStmt: ['relation'],
  ClusterStmt: ['relation'],
  VacuumStmt: ['rels'],
  ReindexStmt: ['relation'],
  GrantStmt: ['objects'],
  CreateCastStmt: ['sourcetype', 'targettype'],
  CreateTransformStmt: ['type_name'],
};

/** Fields naming the object a statement creates: only a schema written in them can be a system schema. */
const CREATED_OBJECT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  CreateStmt: ['relation'],
  CreateForeignTableStmt: ['base'],
  ViewStmt: ['view'],
  CreateSeqStmt: ['sequence'],
  CreateFunctionStmt: ['funcname'],
  DefineStmt: ['defnames'],
  CreateDomainStmt: ['domainname'],
  CompositeTypeStmt: ['typevar'],
  CreateEnumStmt: ['typeName'],
  CreateRangeStmt: ['typeName'],
  CreateConversionStmt: ['conversion_name'],
  CreateOpClassStmt: ['opclassname'],
  CreateOpFamilyStmt: ['opfamilyname'],
  CreateTableAsStmt: ['into'],
};

const DEFINE_TYPES: Readonly<Record<string, DdlObjectType>> = {
  OBJECT_AGGREGATE: 'function',
  OBJECT_OPERATOR: 'function',
  OBJECT_TYPE: 'type',
};

function collect(node: unknown, type: DdlObjectType, resolve: boolean, out: DdlObject[]): void {
  if (Array.isArray(node)) {
    if (node.every((item) => isBody(item) && isBody(item.String))) {
      const names = strings(node);
      if (names.length > 0) out.push({ type, names, resolve });
      return;
    }
    for (const item of node) collect(item, type, resolve, out);
    return;
  }
  if (isBody(node) && isBody(node.rel)) return collect(node.rel, 'relation', resolve, out);
  if (isBody(node) && isBody(node.relation) && !('relname' in node)) return collect(node.relation, type, resolve, out);
  const object = objectOf(node, type, resolve);
  if (object && object.names.length > 0) out.push(object);
}

/**
 * The existing objects a DDL statement changes and the objects it creates, as written. The
 * caller decides (by schema, or by resolving unqualified names in the target) whether any of them
 * is part of the server itself.
 */
export function ddlObjectsOf(type: string, body: Body): DdlObject[] {
  const out: DdlObject[] = [];
  const objectType = typeOf(body.removeType ?? body.renameType ?? body.objectType ?? body.objtype ?? body.kind);
  for (const field of CHANGED_OBJECT_FIELDS[type] ?? []) {
    const fieldType = field === 'func' || field === 'opername' ? 'function' : objectType;
    collect(body[field], fieldType, true, out);
  }
  for (const field of CREATED_OBJECT_FIELDS[type] ?? []) {
    const created = type === 'DefineStmt' ? (DEFINE_TYPES[String(body.kind)] ?? 'other') : objectType;
    collect(body[field], type === 'CreateFunctionStmt' ? 'function' : created, false, out);
  }
  if (typeof body.newschema === 'string') out.push({ type: 'other', names: [body.newschema, '*'], resolve: false });
  return out;
}

/** Whether a name as written is qualified with a system schema (the last part is the object itself). */
export function inSystemSchema(names: readonly string[]): boolean {
  return names.length >= 2 && SYSTEM_SCHEMAS.has(names[names.length - 2]!.toLowerCase());
}

/** Whether a relation name as written (`schema.table`, `db.schema.table`) is in a system schema. */
export function isSystemRelationName(name: string): boolean {
  return inSystemSchema(name.split('.'));
}

/** Built-in views that read the server's configuration files (authentication rules, settings files). */
const SERVER_FILE_VIEWS: ReadonlySet<string> = new Set([
  'pg_hba_file_rules',
  'pg_file_settings',
  'pg_ident_file_mappings',
]);

/** Whether reading a relation name as written reads server configuration files (administration). */
export function readsServerFiles(name: string): boolean {
  const parts = name.toLowerCase().split('.');
  const base = parts[parts.length - 1]!;
  return SERVER_FILE_VIEWS.has(base) && (parts.length === 1 || parts[parts.length - 2] === 'pg_catalog');
}
