/**
 * The only thing the two store engines differ in: how a parameterised statement reaches
 * PostgreSQL. Everything above this (schema, migrations, every query of the {@link Store})
 * is shared SQL, so a behaviour proven on one engine holds on the other.
 */
export interface SqlRunner {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A {@link SqlRunner} that also owns its connections: transactions and approval notifications are where the engines really differ. */
export interface SqlExecutor extends SqlRunner {
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Subscribes to decided approvals; the engine picks LISTEN/NOTIFY or polling. */
  watchApprovals(listener: (id: string) => void): () => void;
  /** Subscribes to ended sessions across processes (payload `<id> <reason>`); absent when one process owns the store. */
  watchSessionEnds?(listener: (payload: string) => void): () => void;
  close(): Promise<void>;
}

/** The channel `decideApproval` notifies on (PostgreSQL engine). */
export const APPROVAL_CHANNEL = 'gatehouse_approval_decided' as const;
/** The channel `endSession` notifies on, with `<session id> <reason>` (PostgreSQL engine). */
export const SESSION_END_CHANNEL = 'gatehouse_session_ended' as const;
/** The channels the PostgreSQL engine LISTENs on. */
export type NotifyChannel = typeof APPROVAL_CHANNEL | typeof SESSION_END_CHANNEL;
