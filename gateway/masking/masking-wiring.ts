import type { PostgresConnectionConfig } from '../config/config-types.ts';
import type { ResultFilter, StatementGate, StatementHandle } from '../postgres/statement-gate.ts';
import { targetAddress } from '../postgres/target-connection.ts';
import { createContentMasker, type ContentMasker } from './detectors.ts';
import { compileMaskingConfig, type MaskingConfig, type MaskingPolicySection } from './masking-config.ts';
import { createMaskingSession, type MaskingSession } from './masking-session.ts';
import { createMetadataCatalog, type MetadataCatalog } from './metadata-connection.ts';

export interface MaskingWiringOptions {
  /** The policy's `masking:` sections. */
  sections: readonly MaskingPolicySection[];
}

/**
 * Connects masking to the PostgreSQL adapter's seams. `wrapGate` and `filterFor` are called
 * back to back for each client connection (gate first); they share one {@link MaskingSession}.
 * Connections without any masking get neither a wrapper nor a filter.
 */
export interface MaskingWiring {
  /** `onDeny` hears of every statement masking refuses on this client connection (for the audit trail). */
  wrapGate(
    connection: PostgresConnectionConfig,
    gate: StatementGate,
    onDeny?: (handle: StatementHandle, reason: string) => void,
  ): StatementGate;
  filterFor(connection: PostgresConnectionConfig): ResultFilter | undefined;
  close(): Promise<void>;
}

interface PerConnection {
  config: MaskingConfig;
  content: ContentMasker;
  catalog: MetadataCatalog;
}

export function createMaskingWiring(options: MaskingWiringOptions): MaskingWiring {
  const compiled = new Map<string, PerConnection | null>();
  const waiting = new Map<string, MaskingSession[]>();

  function forConnection(connection: PostgresConnectionConfig): PerConnection | null {
    if (compiled.has(connection.name)) return compiled.get(connection.name)!;
    const config = compileMaskingConfig(options.sections, connection.name);
    const content = createContentMasker({ detectors: config.detectors, customDetectors: config.customDetectors });
    let entry: PerConnection | null = null;
    if (config.hasColumnRules || content.active) {
      const address = targetAddress(connection);
      const ssl =
        connection.sslmode === 'disable'
          ? false
          : { rejectUnauthorized: connection.sslmode === 'verify-full', ca: connection.ca };
      entry = { config, content, catalog: createMetadataCatalog({ client: { ...address, ssl } }) };
    }
    compiled.set(connection.name, entry);
    return entry;
  }

  return {
    wrapGate(connection, gate, onDeny) {
      const entry = forConnection(connection);
      if (!entry) return gate;
      const session = createMaskingSession({
        catalog: entry.catalog,
        config: entry.config,
        content: entry.content,
        onDeny,
      });
      const queue = waiting.get(connection.name) ?? [];
      queue.push(session);
      waiting.set(connection.name, queue);
      return session.wrapGate(gate);
    },
    filterFor(connection) {
      const entry = forConnection(connection);
      if (!entry) return undefined;
      const session = waiting.get(connection.name)?.shift();
      if (session) return session.filter;
      return createMaskingSession({ catalog: entry.catalog, config: entry.config, content: entry.content }).filter;
    },
    async close() {
      for (const entry of compiled.values()) await entry?.catalog.close();
    },
  };
}
