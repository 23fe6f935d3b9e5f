import type { SessionEffects } from '../sql/session-effects.ts';
import type { RowTransform, StatementHandle } from './statement-gate.ts';
import { ResponseTracker } from './response-tracker.ts';

/** A prepared statement or portal as the relay knows it. */
export interface PreparedEntry {
  handle: StatementHandle | undefined;
  /** Transform for rows of this statement/portal, once its RowDescription was seen. */
  transform?: RowTransform;
  resultFormats?: number[];
}

/**
 * The per-connection protocol state shared by the two directions of the relay: what was
 * prepared under which name, which portal runs which statement, and what replies are due.
 */
export class RelayState {
  readonly tracker = new ResponseTracker();
  readonly statements = new Map<string, PreparedEntry>();
  readonly portals = new Map<string, PreparedEntry>();
  transactionStatus: 'I' | 'T' | 'E' = 'I';
  /** The transform of the result set being streamed by a simple query, if any. */
  queryTransform: RowTransform | undefined;
  /** The target is in COPY FROM STDIN and the client has not yet sent CopyDone or CopyFail. */
  copyIn = false;
  /** COPY TO STDOUT in progress: transform over its CopyData payloads. */
  copyOut: { transform(data: Buffer): Buffer; flush(): Buffer | null } | undefined;

  /**
   * ReadyForQuery: outside a transaction block every portal is gone (the implicit transaction of a
   * Sync or a Query ended; only WITH HOLD cursors survive, and the relay never maps those); inside
   * one the unnamed portal is still replaced by the next Bind, named ones live on.
   */
  transactionEnded(): void {
    if (this.transactionStatus === 'I') this.portals.clear();
  }

  /** What a completed statement removed on the server (CLOSE, DECLARE, COMMIT, DEALLOCATE, DISCARD ALL). */
  forget(effects: SessionEffects): void {
    if (effects.portals === 'all') this.portals.clear();
    else for (const name of effects.portals ?? []) this.portals.delete(name);
    if (effects.statements === 'all') this.statements.clear();
    else for (const name of effects.statements ?? []) this.statements.delete(name);
  }
}
