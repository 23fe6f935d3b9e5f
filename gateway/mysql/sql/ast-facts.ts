type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What one statement's syntax tree reads, writes and calls. */
export interface AstFacts {
  tablesRead: Set<string>;
  tablesWritten: Set<string>;
  functions: Set<string>;
  userVariables: Set<string>;
  cteNames: Set<string>;
  lockingClause: boolean;
}

export function emptyAstFacts(): AstFacts {
  return {
    tablesRead: new Set(),
    tablesWritten: new Set(),
    functions: new Set(),
    userVariables: new Set(),
    cteNames: new Set(),
    lockingClause: false,
  };
}

/** `db.t` from an object name (a list of identifier parts), as written (MySQL names are case-sensitive on Linux). */
export function objectName(parts: unknown): string | undefined {
  if (!Array.isArray(parts) || parts.length === 0) return undefined;
  const names = parts.map((p) => {
    const ident = isNode(p) && isNode(p.Identifier) ? p.Identifier : p;
    return isNode(ident) && typeof ident.value === 'string' ? ident.value : undefined;
  });
  return names.every((n) => n !== undefined) ? names.join('.') : undefined;
}

/** The table a `TableWithJoins`/`TableFactor`/`TableName` node names, if it is a plain table. */
export function tableOf(node: unknown): string | undefined {
  if (!isNode(node)) return undefined;
  if (isNode(node.relation)) return tableOf(node.relation);
  if (isNode(node.Table)) return objectName(node.Table.name);
  if (Array.isArray(node.TableName)) return objectName(node.TableName);
  return undefined;
}

/**
 * Walks a syntax tree and collects facts. Table references read unless `written` says the
 * node is a write target; CTE names are kept apart so they are not reported as tables.
 */
export function collectAstFacts(node: unknown, facts: AstFacts, written?: ReadonlySet<unknown>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectAstFacts(item, facts, written);
    return;
  }
  if (!isNode(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'span') continue;
    if (key === 'Table' && isNode(value)) {
      const name = objectName(value.name);
      if (name) (written?.has(node) ? facts.tablesWritten : facts.tablesRead).add(name);
    } else if (key === 'TableName' && Array.isArray(value)) {
      const name = objectName(value);
      if (name) (written?.has(node) ? facts.tablesWritten : facts.tablesRead).add(name);
    } else if (key === 'Function' && isNode(value)) {
      const name = objectName(value.name);
      if (name) facts.functions.add(name.toLowerCase());
    } else if (key === 'Identifier' && isNode(value) && typeof value.value === 'string') {
      if (value.value.startsWith('@') && !value.value.startsWith('@@')) facts.userVariables.add(value.value.slice(1));
    } else if (key === 'cte_tables' && Array.isArray(value)) {
      for (const cte of value) {
        const alias = isNode(cte) && isNode(cte.alias) && isNode(cte.alias.name) ? cte.alias.name.value : undefined;
        if (typeof alias === 'string') facts.cteNames.add(alias);
      }
    } else if (key === 'locks' && Array.isArray(value) && value.length > 0) {
      facts.lockingClause = true;
    }
    collectAstFacts(value, facts, written);
  }
}

/** The node objects that name the write targets of an INSERT/UPDATE/DELETE/... (so the walk reports them as written). */
export function writeTargets(type: string, body: Node): Set<unknown> {
  const targets = new Set<unknown>();
  const add = (n: unknown) => {
    if (!isNode(n)) return;
    if (isNode(n.relation)) return add(n.relation);
    targets.add(n);
  };
  if (type === 'Insert' && isNode(body.table)) add(body.table);
  if (type === 'Update' && isNode(body.table)) add(body.table);
  if (type === 'Delete') {
    const from = isNode(body.from) ? (body.from.WithFromKeyword ?? body.from.WithoutKeyword) : undefined;
    const tables = Array.isArray(body.tables) ? body.tables : [];
    if (tables.length === 0 && Array.isArray(from)) from.forEach(add);
    for (const t of tables) targets.add({ __name: objectName(t) });
  }
  return targets;
}
