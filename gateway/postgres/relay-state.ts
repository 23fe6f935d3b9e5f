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

  /** Unnamed portals and statements die at the next Sync of their kind; named ones on Close. */
  forgetUnnamedPortal(): void {
    this.portals.delete('');
  }
}
