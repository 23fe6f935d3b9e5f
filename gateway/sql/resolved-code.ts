import { flagsOf, unknownStatement, type StatementAnalysis } from './statement-analysis.ts';
import { SENSITIVE_SETTINGS } from './statement-classes.ts';
import { SYSTEM_SCHEMAS, type DdlObject } from './system-objects.ts';
import {
  FIRST_NORMAL_OBJECT_ID,
  isDangerous,
  type FunctionIndex,
  type TargetCatalog,
  type TargetFunction,
  type TargetRelation,
} from './target-catalog.ts';

/** Calls nested deeper than this (a body calling a body calling ...) are not followed: the statement is unknown. */
export const MAX_RESOLUTION_DEPTH = 4;

/** One resolution: the catalog answers of this generation, and SQL analysed with the target's grammar. */
export interface ResolutionContext {
  catalog: TargetCatalog;
  index: FunctionIndex;
  analyze: (sql: string) => readonly StatementAnalysis[];
  /** Function OIDs on the current call path (a recursive function is followed once). */
  visiting: Set<number>;
}

/** Settings contexts in which only a superuser (or nobody, at run time) may change a setting. */
const ADMIN_CONTEXTS = new Set(['superuser', 'superuser-backend', 'backend', 'sighup', 'postmaster', 'internal']);

/** A statement standing for code the server will run, or for a fact the target revealed about the client's statement. */
export function member(origin: string, patch: Partial<StatementAnalysis>): StatementAnalysis {
  const { unknownReason: _r, ...base } = unknownStatement(origin, '');
  return { ...base, kind: 'read', command: 'SELECT', origin, ...patch };
}

function unknownMember(origin: string, reason: string): StatementAnalysis {
  return { ...unknownStatement(origin, reason), origin };
}

function qualified(fn: { schema: string; name: string }): string {
  return `${fn.schema}.${fn.name}`;
}

/** Candidates of a name as written: every overload in every schema unless qualified; case-insensitive (a superset). */
export function functionCandidates(index: FunctionIndex, written: string, nargs?: number): TargetFunction[] {
  const parts = written.split('.');
  const base = parts[parts.length - 1]!;
  const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  return index
    .named(base)
    .filter(
      (fn) =>
        (schema === undefined || fn.schema.toLowerCase() === schema) && (nargs === undefined || fn.nargs === nargs),
    );
}

function trustedBuiltinLike(fn: TargetFunction): boolean {
  return fn.builtin || (fn.extension && (fn.language === 'c' || fn.language === 'internal'));
}

/**
 * What a call of `written` runs, for every function it may resolve to. Built-ins are judged by
 * OID and C symbol (a renamed dangerous built-in stays dangerous); a user-defined SQL function by
 * its body as the server will run it; anything else is unknown. At depth 0 (the client's own call)
 * the resolved identity is listed too, so `only_functions` sees `public.lower`, not `lower`.
 */
export async function callMembers(
  ctx: ResolutionContext,
  written: string,
  depth: number,
  origin: string,
): Promise<StatementAnalysis[]> {
  const out: StatementAnalysis[] = [];
  for (const fn of functionCandidates(ctx.index, written.toLowerCase())) {
    out.push(...(await functionMembers(ctx, fn, depth, `${origin}${written} resolves to ${qualified(fn)}`)));
  }
  return out;
}

/** What an operator as written may run: the function of every user-defined operator of its symbol (in its schema, if written). */
async function operatorMembers(ctx: ResolutionContext, written: string, depth: number): Promise<StatementAnalysis[]> {
  const parts = written.split('.');
  const symbol = parts[parts.length - 1]!;
  const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  const out: StatementAnalysis[] = [];
  for (const op of ctx.index.operatorsNamed(symbol)) {
    if (schema !== undefined && op.schema !== schema) continue;
    const fn = ctx.index.byOid(op.functionOid);
    const origin = `operator ${written} resolves to ${op.schema}.${op.name}, which calls `;
    if (!fn)
      out.push(unknownMember(origin, `operator ${op.schema}.${op.name} calls a function the gateway cannot find`));
    else out.push(...(await functionMembers(ctx, fn, depth, `${origin}${qualified(fn)}: `)));
  }
  return out;
}

/** What user-defined casts may run: those to a type the statement casts to, and every implicit or assignment one. */
async function castMembers(ctx: ResolutionContext, written: readonly string[], depth: number) {
  const out: StatementAnalysis[] = [];
  for (const cast of ctx.index.userCasts()) {
    if (cast.context === 'e' && !written.includes(cast.target)) continue;
    const fn = ctx.index.byOid(cast.functionOid);
    const origin = `a user-defined cast to ${cast.target} calls `;
    if (!fn) out.push(unknownMember(origin, `a cast to ${cast.target} calls a function the gateway cannot find`));
    else out.push(...(await functionMembers(ctx, fn, depth, `${origin}${qualified(fn)}: `)));
  }
  return out;
}

export async function functionMembers(
  ctx: ResolutionContext,
  fn: TargetFunction,
  depth: number,
  origin: string,
): Promise<StatementAnalysis[]> {
  const out: StatementAnalysis[] = [];
  const name = qualified(fn);
  if (isDangerous(fn)) out.push(member(origin, { dangerousFunctions: [name] }));
  if (trustedBuiltinLike(fn)) {
    if (depth === 0 && (!fn.builtin || fn.schema !== 'pg_catalog')) out.push(member(origin, { functions: [name] }));
    return out;
  }
  if (depth === 0) out.push(member(origin, { functions: [name] }));
  const adminSetting = fn.settings.find((s) => isAdminSetting(ctx.index, s));
  if (adminSetting) out.push(member(origin, { dangerousFunctions: [`${name} (SET ${adminSetting})`] }));
  // Its SET clauses apply while it runs: a read-only session must see them (SET default_transaction_read_only).
  if (fn.settings.length > 0) out.push(member(origin, { settings: fn.settings }));
  if (ctx.visiting.has(fn.oid)) return out;
  if (depth >= MAX_RESOLUTION_DEPTH)
    return [...out, unknownMember(origin, `${name} calls code nested too deeply for the gateway to follow`)];
  ctx.visiting.add(fn.oid);
  try {
    if (fn.kind === 'a') {
      for (const oid of fn.support) {
        const support = ctx.index.byOid(oid);
        if (support) out.push(...(await functionMembers(ctx, support, depth + 1, `support function of ${name}: `)));
      }
    } else if (fn.language === 'sql') {
      out.push(...(await sqlBodyMembers(ctx, fn, depth)));
    } else {
      out.push(
        unknownMember(
          origin,
          `it calls ${name}, a LANGUAGE ${fn.language} function whose body the gateway cannot analyse`,
        ),
      );
    }
  } finally {
    ctx.visiting.delete(fn.oid);
  }
  return out;
}

async function sqlBodyMembers(ctx: ResolutionContext, fn: TargetFunction, depth: number): Promise<StatementAnalysis[]> {
  const source = await ctx.catalog.functionSource(fn.oid);
  if (source === null) return [];
  const [definition, ...body] = ctx.analyze(source);
  if (!definition || definition.kind === 'unknown')
    return [
      unknownMember(`body of function ${qualified(fn)}`, `the definition of ${qualified(fn)} cannot be analysed`),
    ];
  return withExtras(ctx, body, depth + 1);
}

/** Statements followed by what they in turn run (their calls, the code on the relations they touch). */
export async function withExtras(
  ctx: ResolutionContext,
  statements: readonly StatementAnalysis[],
  depth: number,
): Promise<StatementAnalysis[]> {
  const out: StatementAnalysis[] = [];
  for (const statement of statements) out.push(statement, ...(await extrasOf(ctx, statement, depth)));
  return out;
}

/** Catalog code is judged only for what can matter: a kind other than a read, or a flag. */
function significant(analysis: StatementAnalysis): boolean {
  return analysis.kind !== 'read' || flagsOf(analysis).length > 0;
}

/** Members for code the catalog prints (a view, a policy, a default): significant statements and what they run. */
async function catalogCode(ctx: ResolutionContext, sql: string, origin: string, depth: number) {
  const out: StatementAnalysis[] = [];
  for (const analysis of ctx.analyze(sql)) {
    const labelled = { ...analysis, origin: analysis.origin ?? origin };
    if (labelled.kind === 'unknown' || significant(labelled)) out.push(labelled);
    out.push(...(await extrasOf(ctx, labelled, depth)));
  }
  return out;
}

/** An expression printed by the catalog, as a statement that evaluates it. */
function expressionSql(text: string): string {
  if (/^\s*CREATE\b/i.test(text)) return text;
  const check = /^\s*CHECK\s*(\(.*\))(\s+NO INHERIT)?(\s+NOT VALID)?\s*$/is.exec(text);
  return `SELECT ${check ? check[1] : text}`;
}

/**
 * Everything the target says a statement also runs or changes: the functions it calls, the code
 * attached to the relations it reads or writes, built-in objects it changes, and settings only
 * a superuser may change.
 */
export async function extrasOf(
  ctx: ResolutionContext,
  a: StatementAnalysis,
  depth: number,
): Promise<StatementAnalysis[]> {
  if (a.kind === 'unknown') return [];
  const out: StatementAnalysis[] = [];
  for (const name of a.functions) out.push(...(await callMembers(ctx, name, depth, '')));
  for (const symbol of a.operators ?? []) out.push(...(await operatorMembers(ctx, symbol, depth)));
  out.push(...(await castMembers(ctx, a.casts ?? [], depth)));
  for (const setting of a.settings ?? []) {
    if (isAdminSetting(ctx.index, setting))
      out.push(member(`setting ${setting}`, { kind: 'admin', command: `SET ${setting}` }));
  }
  for (const object of a.ddlObjects ?? []) {
    const changed = object.resolve ? builtinObject(ctx, object) : undefined;
    if (changed) out.push(member(`it changes ${changed}`, { kind: 'admin', command: a.command }));
  }
  if (a.tablesRead.length > 0) out.push(...(await relationMembers(ctx, a.tablesRead, 'read', depth)));
  if (a.tablesWritten.length > 0 && a.command !== 'LOCK TABLE') {
    const access = a.kind === 'write' ? 'write' : 'change';
    out.push(...(await relationMembers(ctx, a.tablesWritten, access, depth)));
  }
  return out;
}

export function isAdminSetting(index: FunctionIndex, setting: string): boolean {
  const sensitive = SENSITIVE_SETTINGS[setting];
  if (sensitive && (sensitive.kind === 'admin' || sensitive.kind === 'privilege')) return true;
  const context = index.settingContext(setting);
  return context !== undefined && ADMIN_CONTEXTS.has(context);
}

/** The built-in object an unqualified DDL name may resolve to, or undefined. */
function builtinObject(ctx: ResolutionContext, object: DdlObject): string | undefined {
  const base = object.names[object.names.length - 1]!;
  if (object.type === 'function') {
    const hit = functionCandidates(ctx.index, object.names.join('.').toLowerCase(), object.nargs).find(
      (fn) => fn.builtin || SYSTEM_SCHEMAS.has(fn.schema),
    );
    return hit && `built-in function ${qualified(hit)}`;
  }
  if (object.type === 'type' && object.names.length === 1 && ctx.index.builtinType(base))
    return `built-in type ${base}`;
  return undefined;
}

type Access = 'read' | 'write' | 'change';

async function relationMembers(ctx: ResolutionContext, names: readonly string[], access: Access, depth: number) {
  const found = await ctx.catalog.relations(names);
  const out: StatementAnalysis[] = [];
  const user: TargetRelation[] = [];
  for (const [name, candidates] of found) {
    for (const rel of candidates) {
      if (access !== 'read' && SYSTEM_SCHEMAS.has(rel.schema))
        out.push(
          member(`${name} resolves to ${rel.schema}.${rel.name}`, { kind: 'admin', command: 'WRITE SYSTEM CATALOG' }),
        );
      else if (rel.oid >= FIRST_NORMAL_OBJECT_ID) user.push(rel);
    }
  }
  if (user.length === 0 || depth >= MAX_RESOLUTION_DEPTH) return out;
  out.push(...(await attachedMembers(ctx, user, access, depth)));
  return out;
}

async function attachedMembers(ctx: ResolutionContext, rels: TargetRelation[], access: Access, depth: number) {
  const attached = await ctx.catalog.attached(rels.map((r) => r.oid));
  const out: StatementAnalysis[] = [];
  for (const rel of rels) {
    const code = attached.get(rel.oid);
    if (!code) continue;
    const label = `${rel.schema}.${rel.name}`;
    const runsView = rel.kind === 'v' || (rel.kind === 'm' && access === 'write');
    if (code.view !== null && runsView) out.push(...(await catalogCode(ctx, code.view, `view ${label}`, depth + 1)));
    for (const policy of code.policies)
      out.push(...(await catalogCode(ctx, expressionSql(policy), `row-security policy on ${label}`, depth + 1)));
    if (access === 'read') continue;
    for (const expression of code.expressions)
      out.push(...(await catalogCode(ctx, expressionSql(expression), `expression on ${label}`, depth + 1)));
    if (access === 'change') continue;
    out.push(...(await writeMembers(ctx, rel, code, depth)));
  }
  return out;
}

async function writeMembers(
  ctx: ResolutionContext,
  rel: TargetRelation,
  code: {
    view: string | null;
    triggers: readonly { name: string; functionOid: number }[];
    rules: readonly string[];
    children: readonly number[];
  },
  depth: number,
): Promise<StatementAnalysis[]> {
  const label = `${rel.schema}.${rel.name}`;
  const out: StatementAnalysis[] = [];
  for (const trigger of code.triggers) {
    const fn = ctx.index.byOid(trigger.functionOid);
    if (fn) out.push(...(await functionMembers(ctx, fn, depth + 1, `trigger ${trigger.name} on ${label}: `)));
  }
  for (const rule of code.rules) {
    const [, ...actions] = ctx.analyze(rule);
    out.push(...(await withExtras(ctx, actions, depth + 1)));
  }
  if (rel.kind === 'v' && code.view !== null) {
    const base = ctx.analyze(code.view).flatMap((a) => a.tablesRead);
    if (base.length > 0) out.push(...(await relationMembers(ctx, base, 'write', depth + 1)));
  }
  if (code.children.length > 0) {
    const children = code.children.map((oid) => ({ oid, schema: '', name: `child ${oid} of ${label}`, kind: 'r' }));
    out.push(...(await attachedMembers(ctx, children, 'write', depth + 1)));
  }
  return out;
}
