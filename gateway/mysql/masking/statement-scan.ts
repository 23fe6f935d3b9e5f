import type { Token } from '../sql/lexer.ts';

/**
 * What the tokens of one statement say about masked data, in the server's own lexing (the
 * session's sql_mode): a reading of names, never of meaning, so every doubt counts against
 * the statement. `maskedNames` are the lower-cased names of masked columns (and of the
 * columns of views over masked data) of the tables the statement names.
 */
export interface StatementScan {
  /** Some token is a masked column's name, or a `*` that could expand to one. */
  mentionsMasked: boolean;
  /** Why a masked value could decide which rows come back or in which order, if it could. */
  rowDecision?: string;
  /** One SELECT with no set operation, CTE, derived table or JSON_TABLE: the only shape whose column origins the server reports truthfully. */
  plainSelect: boolean;
  /** Every word and identifier, lower-cased: the names that could be tables or routines. */
  names: Set<string>;
}

const SHAPE_BREAKERS = new Set(['UNION', 'INTERSECT', 'EXCEPT', 'WITH', 'JSON_TABLE', 'VALUES', 'LATERAL', 'TABLE']);
const SELECT_LIST_STARTS = new Set(['SELECT', 'DISTINCT', 'ALL', 'DISTINCTROW']);

const isName = (t: Token) => t.type === 'word' || t.type === 'identifier' || t.type === 'string';
const isOp = (t: Token | undefined, value: string) => t?.type === 'operator' && t.value === value;
const upper = (t: Token | undefined) => (t?.type === 'word' ? t.value.toUpperCase() : '');

/** A `*` that stands for columns (`SELECT *`, `t.*`, `(*`) rather than a product; `COUNT(*)` reads no value. */
function isColumnStar(tokens: readonly Token[], i: number): boolean {
  if (!isOp(tokens[i], '*')) return false;
  const before = tokens[i - 1];
  if (!before) return true;
  if (SELECT_LIST_STARTS.has(upper(before)) || isOp(before, ',') || isOp(before, '.')) return true;
  return isOp(before, '(') && upper(tokens[i - 2]) !== 'COUNT';
}

/** Index of the first FROM outside parentheses, or the token count. */
function topLevelFrom(tokens: readonly Token[]): number {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    else if (depth === 0 && upper(t) === 'FROM') return i;
  }
  return tokens.length;
}

/** Names the select list gives to values over masked data (`AS x`, `ssn x`, `f(ssn) x`): they must not decide rows either. */
function aliasesOverMasked(tokens: readonly Token[], from: number, masked: ReadonlySet<string>): Set<string> {
  const aliases = new Set<string>();
  for (let i = 1; i < from; i++) {
    const t = tokens[i]!;
    const before = tokens[i - 1]!;
    if (!isName(t) || t.type === 'string') continue;
    const afterValue =
      upper(before) === 'AS' || isOp(before, ')') || (isName(before) && masked.has(before.value.toLowerCase()));
    if (afterValue) aliases.add(t.value.toLowerCase());
  }
  return aliases;
}

const DECIDING = new Set(['WHERE', 'ON', 'USING', 'HAVING', 'LIMIT', 'ORDER', 'GROUP', 'QUALIFY', 'PARTITION']);
const NOT_DECIDING = new Set(['SELECT', 'FROM', 'JOIN', 'INTO', 'UNION', 'INTERSECT', 'EXCEPT']);

/**
 * Finds a masked value in a clause that decides rows: WHERE, JOIN ON/USING, GROUP BY, HAVING,
 * ORDER BY, LIMIT, window PARTITION/ORDER, at any depth or inside a subquery of such a clause.
 * A derived table's or a UNION branch's select list only carries values (they are masked).
 */
function findRowDecision(
  tokens: readonly Token[],
  sensitive: ReadonlySet<string>,
  readsMaskedTable: boolean,
): string | undefined {
  const enclosing: boolean[] = [];
  let deciding = false;
  let inherited = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const word = upper(t);
    if (isOp(t, '(')) {
      enclosing.push(inherited || deciding);
      inherited = inherited || deciding;
      deciding = false;
      continue;
    }
    if (isOp(t, ')')) {
      inherited = enclosing.pop() ?? false;
      deciding = inherited;
      continue;
    }
    if (DECIDING.has(word)) deciding = true;
    else if (NOT_DECIDING.has(word)) deciding = false;
    const inDecision = deciding || inherited;
    if (inDecision && isName(t) && sensitive.has(t.value.toLowerCase()))
      return `masked column "${t.value}" would decide which rows come back (WHERE, JOIN, GROUP BY, HAVING, ORDER BY, LIMIT, OVER)`;
    if (word === 'DISTINCT' && upper(tokens[i - 1]) === 'SELECT')
      return 'SELECT DISTINCT over masked data would tell equal masked values apart by the rows that come back';
    if (['UNION', 'INTERSECT', 'EXCEPT'].includes(word) && upper(tokens[i + 1]) !== 'ALL')
      return `${word} without ALL over masked data would tell equal masked values apart by the rows that come back`;
    if (!readsMaskedTable) continue;
    if (word === 'NATURAL') return 'a NATURAL JOIN could join on a masked column';
    if (word === 'PROCEDURE') return 'PROCEDURE ANALYSE() reports values of the columns it reads';
    if (word === 'BY' && tokens[i + 1]?.type === 'number')
      return 'ORDER BY / GROUP BY a column position could sort or group by a masked value';
  }
  return undefined;
}

/** Scans one statement's tokens against the masked column names of the tables it names. */
export function scanStatement(
  tokens: readonly Token[],
  maskedNames: ReadonlySet<string>,
  readsMaskedTable: boolean,
): StatementScan {
  const names = new Set<string>();
  let mentionsMasked = false;
  let selects = 0;
  let shapeBroken = false;
  tokens.forEach((t, i) => {
    if (isName(t)) {
      const lower = t.value.toLowerCase();
      if (t.type !== 'string') names.add(lower);
      if (maskedNames.has(lower)) mentionsMasked = true;
    }
    if (readsMaskedTable && isColumnStar(tokens, i)) mentionsMasked = true;
    const word = upper(t);
    if (word === 'SELECT') selects++;
    if (SHAPE_BREAKERS.has(word)) shapeBroken = true;
  });
  const from = topLevelFrom(tokens);
  const sensitive = new Set(maskedNames);
  if (mentionsMasked) for (const alias of aliasesOverMasked(tokens, from, maskedNames)) sensitive.add(alias);
  const rowDecision =
    mentionsMasked || readsMaskedTable ? findRowDecision(tokens, sensitive, readsMaskedTable) : undefined;
  return {
    mentionsMasked,
    ...(rowDecision ? { rowDecision } : {}),
    plainSelect: selects === 1 && !shapeBroken,
    names,
  };
}
