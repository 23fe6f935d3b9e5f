import type { PostgresConnectionConfig } from '../config/config-types.ts';
import type { ResultFilter, StatementGate, StatementHandle } from '../postgres/statement-gate.ts';
import { targetAddress } from '../postgres/target-connection.ts';
import type { SqlParser } from '../sql/sql-parser.ts';
import { createContentMasker, type ContentMasker } from '../content/detectors.ts';
import { compileMaskingConfig, type MaskingConfig, type MaskingPolicySection } from './masking-config.ts';
import { createMaskingSession } from './masking-session.ts';
import { createMetadataCatalog, type MetadataCatalog } from './metadata-connection.ts';

export interface MaskingWiringOptions {
  /** The policy's `masking:` sections. */
  sections: readonly MaskingPolicySection[];
}

/**
 * Connects masking to the PostgreSQL adapter's seams. `forClient` makes, for one client connection,
 * the wrapped gate and the result filter around one masking session, so what a statement was
 * planned as and the rows it returns are masked by the same session. Connections without any
 * masking get the gate back unwrapped and no filter.
 */
export interface MaskingWiring {
  /** `onDeny` hears of every statement masking refuses on this client connection (for the audit trail). */
  forClient(
    connection: PostgresConnectionConfig,
    gate: StatementGate,
    onDeny?: (handle: StatementHandle, reason: string) => void,
  ): { gate: StatementGate; filter?: ResultFilter };
  /** The connection's target reported its version: view definitions it prints are parsed with that grammar. */
  useParser(connection: PostgresConnectionConfig, parser: SqlParser): void;
  close(): Promise<void>;
}

interface PerConnection {
  config: MaskingConfig;
  content: ContentMasker;
  catalog: MetadataCatalog;
}

export function createMaskingWiring(options: MaskingWiringOptions): MaskingWiring {
  const compiled = new Map<string, PerConnection | null>();

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
    forClient(connection, gate, onDeny) {
      const entry = forConnection(connection);
      if (!entry) return { gate };
      const session = createMaskingSession({
        catalog: entry.catalog,
        config: entry.config,
        content: entry.content,
        onDeny,
      });
      return { gate: session.wrapGate(gate), filter: session.filter };
    },
    useParser(connection, parser) {
      forConnection(connection)?.catalog.useParser(parser);
    },
    async close() {
      for (const entry of compiled.values()) await entry?.catalog.close();
    },
  };
}
