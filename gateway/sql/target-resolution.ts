import type { PostgresConnectionConfig } from '../config/config-types.ts';
import { createMetadataQueryable } from '../masking/metadata-connection.ts';
import { targetAddress } from '../postgres/target-connection.ts';
import { analyzeSql, type AnalysisCache } from './analyze-sql.ts';
import { createPgTargetCatalog } from './pg-target-catalog.ts';
import { sqlParser, type SqlParser } from './sql-parser.ts';
import { createStatementResolver, type StatementResolver } from './resolve-statements.ts';
import type { TargetCatalog } from './target-catalog.ts';

/** The target catalog of one connection and the resolver over it, shared by every session of the connection. */
export interface TargetResolution {
  catalog: TargetCatalog;
  resolver: StatementResolver;
  /** The target reported its version: what it prints back (function and view definitions) is parsed with that grammar. */
  useParser(parser: SqlParser): void;
  close(): Promise<void>;
}

export interface TargetResolutionOptions {
  connection: PostgresConnectionConfig;
  /** The gateway's analysis cache (catalog texts are analysed like client statements). */
  cache: AnalysisCache;
  log?: (message: string) => void;
}

/** Opens (lazily) the gateway's metadata connection to a target and resolves statements against its catalog. */
export function createTargetResolution(options: TargetResolutionOptions): TargetResolution {
  const { connection } = options;
  const ssl =
    connection.sslmode === 'disable'
      ? false
      : { rejectUnauthorized: connection.sslmode === 'verify-full', ca: connection.ca };
  const queryable = createMetadataQueryable({ client: { ...targetAddress(connection), ssl } });
  const catalog = createPgTargetCatalog(queryable);
  let parser = sqlParser();
  const resolver = createStatementResolver({
    catalog,
    analyze: (sql) => analyzeSql(sql, { cache: options.cache, parser }),
    log: options.log,
  });
  return {
    catalog,
    resolver,
    useParser(next) {
      if (next.major !== parser.major) catalog.invalidate();
      parser = next;
    },
    close: () => queryable.close(),
  };
}

/** One {@link TargetResolution} per connection name, made on first use. */
export function createTargetResolutions(options: Omit<TargetResolutionOptions, 'connection'>): {
  of(connection: PostgresConnectionConfig): TargetResolution;
  close(): Promise<void>;
} {
  const targets = new Map<string, TargetResolution>();
  return {
    of(connection) {
      let target = targets.get(connection.name);
      if (!target) {
        target = createTargetResolution({ ...options, connection });
        targets.set(connection.name, target);
      }
      return target;
    },
    async close() {
      await Promise.all([...targets.values()].map((t) => t.close()));
    },
  };
}
