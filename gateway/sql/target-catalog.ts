import { isDangerousBuiltin } from './dangerous-functions.ts';

/**
 * OIDs below this were assigned by initdb: the built-in objects. Anything created later (even in
 * pg_catalog, even named like a built-in) has a larger OID, so an OID says what a name cannot.
 */
export const FIRST_NORMAL_OBJECT_ID = 16384;

/** A function as the target's catalog knows it, looked up by what the server resolves, not by the name written. */
export interface TargetFunction {
  oid: number;
  schema: string;
  name: string;
  /** 'internal', 'c', 'sql', 'plpgsql', ... */
  language: string;
  /** pg_proc.prokind: f function, p procedure, a aggregate, w window. */
  kind: string;
  nargs: number;
  ndefaults: number;
  variadic: boolean;
  /** Created by initdb (OID below {@link FIRST_NORMAL_OBJECT_ID}). */
  builtin: boolean;
  /** A member of an installed extension. */
  extension: boolean;
  /** The C symbol of an internal or C function: unchanged by a rename. */
  symbol: string | null;
  library: string | null;
  /** Setting names of the function's SET clauses (proconfig). */
  settings: readonly string[];
  /** Support functions of an aggregate (transition, final, ...), which run when it is called. */
  support: readonly number[];
}

/** A relation of the target, for system-schema checks and the code attached to it. */
export interface TargetRelation {
  oid: number;
  schema: string;
  name: string;
  /** pg_class.relkind. */
  kind: string;
}

/** Code the server runs when a relation is read or written, as the server prints it back. */
export interface AttachedCode {
  /** Definition of a view or materialized view. */
  view: string | null;
  triggers: readonly { name: string; functionOid: number }[];
  /** CREATE RULE text of every rule other than a view's own. */
  rules: readonly string[];
  /** Defaults and generated columns, check constraints (the table's and its columns' domains'), index expressions and predicates. */
  expressions: readonly string[];
  /** Row-security policy expressions (USING and WITH CHECK). */
  policies: readonly string[];
  /** Inheritance children and partitions: writes to the parent may land in them. */
  children: readonly number[];
}

/**
 * An operator created after initdb: it runs `functionOid` wherever its symbol resolves to it, which
 * the client decides (search_path, OPERATOR(schema.op)). Built-in operators call built-in functions.
 */
export interface TargetOperator {
  schema: string;
  name: string;
  functionOid: number;
}

/**
 * A cast created after initdb: it calls `functionOid` where the statement casts to `target`
 * (explicit, 'e') or wherever the server may coerce a value on its own (implicit 'i', assignment 'a').
 */
export interface TargetCast {
  target: string;
  functionOid: number;
  context: string;
}

/** Every function of the target by name, and the target's settings with who may change them. */
export interface FunctionIndex {
  named(name: string): readonly TargetFunction[];
  /** The user-defined operators of a symbol, in every schema. */
  operatorsNamed(symbol: string): readonly TargetOperator[];
  /** The user-defined casts that call a function. */
  userCasts(): readonly TargetCast[];
  byOid(oid: number): TargetFunction | undefined;
  /** pg_settings.context of a setting ('user', 'superuser', ...); undefined for unknown (custom) names. */
  settingContext(name: string): string | undefined;
  /** Whether a built-in type of this name exists (pg_type, OID below {@link FIRST_NORMAL_OBJECT_ID}). */
  builtinType(name: string): boolean;
  /** Whether a type of this name was created later (by anyone, in any schema). */
  userType(name: string): boolean;
}

type Maybe<T> = T | Promise<T>;

/**
 * What the gateway knows of the target's catalog, read on the gateway's own metadata connection
 * and shared by every session of the connection. Answers are synchronous when cached; a
 * generation ends after DDL (`invalidate`, called once DDL ran) or when it is older than `maxAgeMs`,
 * so DDL made elsewhere is seen within that time.
 */
export interface TargetCatalog {
  functions(): Maybe<FunctionIndex>;
  /** Candidates of each relation name as written (unqualified: every schema). */
  relations(names: readonly string[]): Maybe<ReadonlyMap<string, readonly TargetRelation[]>>;
  attached(oids: readonly number[]): Maybe<ReadonlyMap<number, AttachedCode>>;
  /** CREATE FUNCTION text of a SQL function (pg_get_functiondef); null when it is gone. */
  functionSource(oid: number): Maybe<string | null>;
  /** Changes whenever cached answers were dropped; resolutions are cached per generation. */
  generation(): number;
  invalidate(): void;
}

/** Anything with node-postgres' `query(text, values)`, e.g. the metadata connection. */
export interface TargetQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface TargetCatalogOptions {
  maxAgeMs?: number;
  now?: () => number;
}

export function isDangerous(fn: TargetFunction): boolean {
  return isDangerousBuiltin(fn.name, fn.symbol, fn.library, fn.language);
}
