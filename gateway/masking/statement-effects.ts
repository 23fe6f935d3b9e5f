import { nodeOf } from './analysis-types.ts';

/** Whether a statement may change what the catalog says (so cached answers must be dropped once it ran). */
export function changesCatalog(stmt: unknown): boolean {
  const n = nodeOf(stmt);
  return n !== null && !NON_DDL.has(n[0]);
}

/** Statements that change nothing in the catalog masking depends on. */
export const NON_DDL: ReadonlySet<string> = new Set([
  'SelectStmt',
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CopyStmt',
  'ExplainStmt',
  'VariableShowStmt',
  'VariableSetStmt',
  'TransactionStmt',
  'FetchStmt',
  'DeclareCursorStmt',
  'ClosePortalStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'DeallocateStmt',
  'DiscardStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'LockStmt',
  'CallStmt',
  'CheckPointStmt',
  'VacuumStmt',
  'ConstraintsSetStmt',
]);

/** Statements whose plan changes what the planner remembers for later statements of the session. */
export const SESSION_EFFECTS: ReadonlySet<string> = new Set([
  'DeclareCursorStmt',
  'ClosePortalStmt',
  'PrepareStmt',
  'DeallocateStmt',
  'DiscardStmt',
]);
