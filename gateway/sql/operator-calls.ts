type Body = Record<string, unknown>;

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((item) => (isBody(item) && isBody(item.String) ? String(item.String.sval ?? '') : ''))
    .filter((s) => s !== '');
}

/** A_Expr kinds whose operator name is a keyword: the operators the server runs for them. */
const IMPLIED_BY_KIND: Record<string, readonly string[]> = {
  AEXPR_BETWEEN: ['>=', '<='],
  AEXPR_NOT_BETWEEN: ['<', '>'],
  AEXPR_BETWEEN_SYM: ['>=', '<='],
  AEXPR_NOT_BETWEEN_SYM: ['<', '>'],
  AEXPR_LIKE: ['~~', '!~~'],
  AEXPR_ILIKE: ['~~*', '!~~*'],
  AEXPR_SIMILAR: ['~', '!~'],
};

/**
 * Records the operators a parse node makes the server run, as written (`+`, `ops.+`): an
 * operator calls a function that no FuncCall names, and which function depends on the operators
 * the target has under that symbol (in any schema: the client controls search_path). Keyword
 * forms record the operators they stand for (BETWEEN: `>=`, `<=`; CASE x WHEN, USING and NATURAL
 * joins: `=`).
 */
export function recordOperators(type: string, body: Body, operators: Set<string>): void {
  const add = (parts: string[]) => {
    if (parts.length > 0) operators.add(parts.join('.'));
  };
  switch (type) {
    case 'A_Expr': {
      const implied = IMPLIED_BY_KIND[String(body.kind)];
      if (implied) implied.forEach((op) => operators.add(op));
      else add(names(body.name));
      return;
    }
    case 'SubLink':
      add(names(body.operName));
      if (body.subLinkType === 'ANY_SUBLINK' && names(body.operName).length === 0) operators.add('=');
      return;
    case 'SortBy':
      add(names(body.useOp));
      return;
    case 'CaseExpr':
      if (body.arg) operators.add('=');
      return;
    case 'JoinExpr':
      if (body.isNatural === true || (Array.isArray(body.usingClause) && body.usingClause.length > 0))
        operators.add('=');
      return;
  }
}
