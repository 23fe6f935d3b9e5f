import { GatehouseError } from '../../errors/gatehouse-error.ts';
import type { MysqlConnectionConfig } from '../mysql-config.ts';
import { PacketChannel } from '../packet-channel.ts';
import { queryText } from '../session-prelude.ts';
import { connectUpstream } from '../upstream-connection.ts';

/**
 * One table or view of the target as information_schema reports it. Names are looked up in
 * every schema (the client picks its default schema, and may change it), so one name can have
 * several entries.
 */
export interface TableFacts {
  schema: string;
  name: string;
  /** `BASE TABLE`, `VIEW`, `SYSTEM VIEW`, `SEQUENCE`, `TEMPORARY`, ... */
  type: string;
  /** In the table's column order. */
  columns: readonly string[];
  /** A view's definition; null when the gateway's account may not read it (then it cannot be traced). */
  viewDefinition: string | null;
}

/** A stored function or procedure the target knows. */
export interface RoutineFacts {
  schema: string;
  name: string;
  type: 'FUNCTION' | 'PROCEDURE';
  /** The body as stored; null when the gateway's account may not read it. */
  definition: string | null;
  /** The sql_mode the routine was created with (its body is lexed in it). */
  sqlMode: string;
}

/**
 * What masking (and CALL resolution) asks the target's catalog, on the gateway's own connection
 * with the gateway's credential: the client can neither see nor steer these queries. Answers are
 * cached briefly and dropped after any schema change through the gateway.
 */
export interface MysqlCatalog {
  /** Every table/view named `name` (case-insensitive) in any schema; names with none map to []. */
  tables(names: readonly string[]): Promise<Map<string, TableFacts[]>>;
  routines(names: readonly string[]): Promise<Map<string, RoutineFacts[]>>;
  invalidate(): void;
  close(): void;
}

const CACHE_MS = 5000;

/** A string literal that cannot break out of its quotes: the name's UTF-8 bytes in hex. */
export function hexLiteral(value: string): string {
  return `CONVERT(X'${Buffer.from(value, 'utf8').toString('hex')}' USING utf8mb4)`;
}

export function createMysqlCatalog(connection: MysqlConnectionConfig): MysqlCatalog {
  const session = new MetadataSession(connection);
  const tableCache = new Map<string, { at: number; facts: TableFacts[] }>();
  const routineCache = new Map<string, { at: number; facts: RoutineFacts[] }>();

  async function cached<T>(
    names: readonly string[],
    cache: Map<string, { at: number; facts: T[] }>,
    load: (missing: string[]) => Promise<Map<string, T[]>>,
  ): Promise<Map<string, T[]>> {
    const now = Date.now();
    const keys = [...new Set(names.map((n) => n.toLowerCase()))];
    const missing = keys.filter((k) => (cache.get(k)?.at ?? -Infinity) + CACHE_MS < now);
    if (missing.length > 0) {
      const loaded = await load(missing);
      for (const k of missing) cache.set(k, { at: now, facts: loaded.get(k) ?? [] });
    }
    return new Map(keys.map((k) => [k, cache.get(k)!.facts]));
  }

  return {
    tables: (names) => cached(names, tableCache, (missing) => loadTables(session, missing)),
    routines: (names) => cached(names, routineCache, (missing) => loadRoutines(session, missing)),
    invalidate() {
      tableCache.clear();
      routineCache.clear();
    },
    close: () => session.close(),
  };
}

function inList(names: readonly string[]): string {
  return names.map(hexLiteral).join(', ');
}

async function loadTables(session: MetadataSession, names: string[]): Promise<Map<string, TableFacts[]>> {
  const rows = await session.query(
    `SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, v.VIEW_DEFINITION
       FROM information_schema.TABLES t
       LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
      WHERE LOWER(t.TABLE_NAME) IN (${inList(names)})
      ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME, c.ORDINAL_POSITION`,
  );
  const byKey = new Map<string, TableFacts & { columns: string[] }>();
  for (const [schema, name, type, column, definition] of rows) {
    const key = `${schema}.${name}`;
    let facts = byKey.get(key);
    if (!facts) {
      facts = { schema: schema!, name: name!, type: type!, columns: [], viewDefinition: definition || null };
      byKey.set(key, facts);
    }
    if (column !== null && column !== undefined) facts.columns.push(column);
  }
  const out = new Map<string, TableFacts[]>();
  for (const facts of byKey.values()) {
    const k = facts.name.toLowerCase();
    out.set(k, [...(out.get(k) ?? []), facts]);
  }
  return out;
}

async function loadRoutines(session: MetadataSession, names: string[]): Promise<Map<string, RoutineFacts[]>> {
  const rows = await session.query(
    `SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, SQL_MODE FROM information_schema.ROUTINES
      WHERE LOWER(ROUTINE_NAME) IN (${inList(names)})`,
  );
  const out = new Map<string, RoutineFacts[]>();
  for (const [schema, name, type, definition, sqlMode] of rows) {
    const k = name!.toLowerCase();
    const facts = {
      schema: schema!,
      name: name!,
      type: type as RoutineFacts['type'],
      definition,
      sqlMode: sqlMode ?? '',
    };
    out.set(k, [...(out.get(k) ?? []), facts]);
  }
  return out;
}

/** The gateway's own connection to the target, opened on first use, one query at a time, reopened after a failure. */
class MetadataSession {
  private channel: Promise<PacketChannel> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly connection: MysqlConnectionConfig) {}

  query(sql: string): Promise<(string | null)[][]> {
    const run = this.tail.then(async () => {
      if (this.closed) throw new GatehouseError('mysql.catalog-closed', 'the gateway is shutting down');
      const channel = await (this.channel ??= this.open());
      try {
        return await queryText(channel, sql);
      } catch (error) {
        channel.stream.destroy();
        this.channel = undefined;
        throw new GatehouseError(
          'mysql.catalog-failed',
          `the gateway could not read the target's catalog, so it cannot tell what is masked: ${(error as Error).message}`,
          { cause: error },
        );
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async open(): Promise<PacketChannel> {
    const request = { capabilities: 0, mariadbCapabilities: 0, characterSet: 45, attributes: [] };
    try {
      const upstream = await connectUpstream(this.connection, request);
      if (upstream.leftover.length > 0) upstream.socket.unshift(upstream.leftover);
      upstream.socket.on('error', () => undefined);
      return new PacketChannel(upstream.socket, { maxPacketBytes: 1 << 26, timeoutMs: 10_000, peer: 'target' });
    } catch (error) {
      this.channel = undefined;
      throw error;
    }
  }

  close(): void {
    this.closed = true;
    void this.channel?.then((c) => c.stream.destroy()).catch(() => undefined);
    this.channel = undefined;
  }
}
