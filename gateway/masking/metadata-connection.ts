import pg from 'pg';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { sqlParser, type SqlParser } from '../sql/sql-parser.ts';
import { createPgCatalog, type CatalogQueryable, type MaskingCatalog, type PgCatalogOptions } from './catalog.ts';

export interface MetadataConnectionOptions extends PgCatalogOptions {
  /** node-postgres client settings for the target, with the gateway's own credentials. */
  client: pg.ClientConfig;
  /** Closes the connection after this long without catalog queries (default 10 s). */
  idleMs?: number;
  /** A catalog query slower than this fails (and the connection is dropped), default 5 s. */
  queryTimeoutMs?: number;
}

/** A catalog on a metadata connection that opens on first use, reopens after errors and closes when idle. */
export interface MetadataCatalog extends MaskingCatalog {
  /** The target reported its version: definitions it prints are parsed with this grammar. */
  useParser(parser: SqlParser): void;
  close(): Promise<void>;
}

/** A query function on the gateway's own connection to a target, with a way to close it. */
export interface MetadataQueryable extends CatalogQueryable {
  close(): Promise<void>;
}

/**
 * Builds the masking catalog of one target on its own connection: never the client's session,
 * whose search_path, temp objects and transaction state the client controls.
 */
export function createMetadataCatalog(options: MetadataConnectionOptions): MetadataCatalog {
  const queryable = createMetadataQueryable(options);
  let parser: SqlParser | undefined;
  return {
    ...createPgCatalog(queryable, options),
    parser: () => parser ?? sqlParser(),
    useParser(next) {
      parser = next;
    },
    close: () => queryable.close(),
  };
}

/**
 * The gateway's own connection to a target for catalog queries: opens on first use, reopens after
 * errors, closes when idle, and fails a query that takes longer than `queryTimeoutMs`.
 */
export function createMetadataQueryable(options: MetadataConnectionOptions): MetadataQueryable {
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  let idle: NodeJS.Timeout | null = null;
  const idleMs = options.idleMs ?? 10_000;
  const queryTimeoutMs = options.queryTimeoutMs ?? 5_000;

  function drop(c: pg.Client): void {
    if (client === c) client = null;
    c.end().catch(() => undefined);
  }

  async function connected(): Promise<pg.Client> {
    if (client) return client;
    connecting ??= (async () => {
      const c = new pg.Client({
        connectionTimeoutMillis: queryTimeoutMs,
        ...options.client,
        application_name: 'gatehouse-masking-catalog',
      });
      c.on('error', () => drop(c));
      try {
        await c.connect();
      } catch (error) {
        c.end().catch(() => undefined);
        throw error;
      }
      streamOf(c)?.unref?.();
      client = c;
      return c;
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  }

  // One query at a time on the one connection: pg only queues concurrent queries with a
  // deprecation warning (an error in pg 9), and a timeout must time the query, not its wait.
  let previous: Promise<unknown> = Promise.resolve();
  const queryable: CatalogQueryable = {
    query: ((text: string, values?: unknown[]) => {
      const run = previous.then(() => runQuery(text, values));
      previous = run.catch(() => undefined);
      return run;
    }) as CatalogQueryable['query'],
  };

  async function runQuery(text: string, values?: unknown[]): Promise<unknown> {
    const c = await connected();
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => drop(c), idleMs);
    idle.unref();
    return timedQuery(c, text, values, queryTimeoutMs, () => drop(c));
  }

  return {
    query: queryable.query,
    async close() {
      if (idle) clearTimeout(idle);
      const c = client;
      client = null;
      // The socket is unref'd so an idle catalog never keeps the process alive; a close must,
      // or a shutting-down gateway exits with its close() still pending.
      streamOf(c)?.ref?.();
      if (c) await c.end().catch(() => undefined);
    },
  };
}

function streamOf(client: pg.Client | null): { ref?: () => void; unref?: () => void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref?: () => void; unref?: () => void } } } | null)
    ?.connection?.stream;
}

/** Runs one query, failing it (and dropping the connection through `drop`) after `timeoutMs`. */
async function timedQuery(
  c: pg.Client,
  text: string,
  values: unknown[] | undefined,
  timeoutMs: number,
  drop: () => void,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      drop();
      reject(
        new GatehouseError(
          'masking.catalog-timeout',
          'the masking catalog did not answer in time (an embedded target may be busy with an open transaction); commit or roll back, then retry',
        ),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([c.query(text, values), timeout]);
  } catch (error) {
    if (!(error instanceof pg.DatabaseError)) drop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
