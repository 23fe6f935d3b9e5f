import type { ParamType } from '../codec/prepared-statements.ts';
import type { MysqlStatementAnalysis } from '../sql/mysql-analysis.ts';

/** A statement prepared through the gateway: the SQL that was analysed and decided, and its parameter state. */
export interface PreparedStatement {
  id: number;
  sql: string;
  statements: readonly MysqlStatementAnalysis[];
  paramCount: number;
  columnCount: number;
  types?: ParamType[];
  longData: Set<number>;
}

/**
 * The connection's prepared statements by server id. An EXECUTE of an id the gateway did not
 * see prepared has nothing to be decided on and is refused.
 */
export class PreparedRegistry {
  private readonly byId = new Map<number, PreparedStatement>();
  private last: number | undefined;

  add(statement: PreparedStatement): void {
    this.byId.set(statement.id, statement);
    this.last = statement.id;
  }

  /** MariaDB's id 0xFFFFFFFF means the statement prepared last (pipelined prepare + execute). */
  get(id: number): PreparedStatement | undefined {
    return this.byId.get(id === 0xffffffff && this.last !== undefined ? this.last : id);
  }

  delete(id: number): void {
    this.byId.delete(id === 0xffffffff && this.last !== undefined ? this.last : id);
  }

  clear(): void {
    this.byId.clear();
    this.last = undefined;
  }
}
