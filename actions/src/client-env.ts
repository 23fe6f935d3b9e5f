import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import type { ConnectReadyLine, LocalConnection as WireLocalConnection } from '../../wire/control-api.ts';

/**
 * One local listener as `gatehouse connect` announces it in its ready line: the wire type, with
 * `type` left open because the client that printed it may be another version than this action.
 */
export type LocalConnection = Omit<WireLocalConnection, 'type'> & { type: string };

/** The single JSON line `gatehouse connect` prints once every listener is up. */
export type ReadyLine = Omit<ConnectReadyLine, 'connections'> & { connections: LocalConnection[] };

/**
 * What the step hands to later steps. Kept as plain data so the rules (which variable is
 * exported when, what must be masked) are testable without a runner.
 */
export interface ClientEnvironment {
  env: Record<string, string>;
  outputs: Record<string, string>;
  /** Every value that must be registered with `core.setSecret` before anything is printed. */
  secrets: string[];
}

/** `app-db` → `APP_DB`, so `APP_DB_DATABASE_URL` is a valid shell variable name. */
export function upperSnake(name: string): string {
  return name
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

export function parseReadyLine(line: string): ReadyLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new GatehouseError(
      'proxy-protocol',
      'The local proxy printed a ready line that is not JSON: the client bundle does not match this action; pin matching versions.',
    );
  }
  const record = value as Partial<ReadyLine> | null;
  const ok =
    typeof record === 'object' &&
    record !== null &&
    typeof record.session_id === 'string' &&
    typeof record.expires_at === 'string' &&
    Array.isArray(record.connections) &&
    record.connections.every(
      (c) =>
        typeof c?.name === 'string' &&
        typeof c.type === 'string' &&
        typeof c.host === 'string' &&
        Number.isInteger(c.port),
    );
  if (!ok) {
    throw new GatehouseError(
      'proxy-protocol',
      'The local proxy ready line lacks session_id, expires_at or connections (name, type, host, port): the client bundle does not match this action; pin matching versions.',
    );
  }
  return record as ReadyLine;
}

/** Two connections must not export the same variables; every password (and URL holding one) is a secret to mask. */
function checkNamesAndCollectSecrets(connections: readonly LocalConnection[], secrets: Set<string>): void {
  const names = new Map<string, string>();
  for (const connection of connections) {
    const key = upperSnake(connection.name);
    const clash = names.get(key);
    if (clash !== undefined) {
      throw new GatehouseError(
        'env-name-clash',
        `Connections '${clash}' and '${connection.name}' would both export ${key}_*: rename one of them in gatehouse.yaml, or request only one.`,
      );
    }
    names.set(key, connection.name);
    if (connection.password) secrets.add(connection.password);
    if (connection.url && connection.password && connection.type !== 'http') secrets.add(connection.url);
  }
}

/**
 * Client environment for the connections of a ready line. `<NAME>_DATABASE_URL` is set for every
 * PostgreSQL connection; `DATABASE_URL` and the libpq `PG*` variables only when exactly one
 * PostgreSQL connection exists, because with several they would silently pick one. Likewise
 * `<NAME>_MYSQL_URL` per MySQL connection, and `MYSQL_URL`, `MYSQL_HOST`, `MYSQL_TCP_PORT`,
 * `MYSQL_PWD` (read by the mysql/mariadb clients), `MYSQL_USER`, `MYSQL_DATABASE` for exactly one.
 * `<NAME>_URL` (the local base URL) and `<NAME>_TOKEN` (the local password HTTP clients send as
 * `Authorization: Bearer`) for every HTTP connection.
 */
export function buildClientEnvironment(ready: ReadyLine, sessionToken?: string): ClientEnvironment {
  const env: Record<string, string> = {};
  const secrets = new Set<string>();
  if (sessionToken) secrets.add(sessionToken);
  checkNamesAndCollectSecrets(ready.connections, secrets);

  const postgres = ready.connections.filter((c) => c.type === 'postgres');
  for (const connection of postgres) {
    const url = connection.url ?? postgresUrl(connection);
    if (connection.password && !connection.url) secrets.add(url);
    env[`${upperSnake(connection.name)}_DATABASE_URL`] = url;
  }
  if (postgres.length === 1) {
    const only = postgres[0]!;
    env.DATABASE_URL = only.url ?? postgresUrl(only);
    env.PGHOST = only.host;
    env.PGPORT = String(only.port);
    if (only.user) env.PGUSER = only.user;
    if (only.password) env.PGPASSWORD = only.password;
    if (only.database) env.PGDATABASE = only.database;
  }

  for (const connection of ready.connections.filter((c) => c.type === 'http')) {
    const key = upperSnake(connection.name);
    env[`${key}_URL`] = connection.url ?? `http://${connection.host}:${connection.port}`;
    if (connection.password) env[`${key}_TOKEN`] = connection.password;
  }
  addMysqlEnvironment(ready.connections, env, secrets);

  const first = ready.connections[0];
  const outputs: Record<string, string> = {
    'session-id': ready.session_id,
    'expires-at': ready.expires_at,
    connections: JSON.stringify(
      ready.connections.map((c) => ({
        name: c.name,
        type: c.type,
        host: c.host,
        port: c.port,
        url: c.url ?? (c.type === 'postgres' ? postgresUrl(c) : c.type === 'mysql' ? mysqlUrl(c) : ''),
      })),
    ),
  };
  if (first) {
    outputs.url =
      first.url ?? (first.type === 'postgres' ? postgresUrl(first) : first.type === 'mysql' ? mysqlUrl(first) : '');
    outputs.host = first.host;
    outputs.port = String(first.port);
  }
  return { env, outputs, secrets: [...secrets].filter((s) => s.length > 0) };
}

function postgresUrl(c: LocalConnection): string {
  const auth = c.user ? `${encodeURIComponent(c.user)}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@` : '';
  return `postgresql://${auth}${c.host}:${c.port}/${encodeURIComponent(c.database ?? c.name)}`;
}

/** `<NAME>_MYSQL_URL` per MySQL connection; for exactly one, the variables the mysql/mariadb clients read themselves. */
function addMysqlEnvironment(
  connections: readonly LocalConnection[],
  env: Record<string, string>,
  secrets: Set<string>,
): void {
  const mysql = connections.filter((c) => c.type === 'mysql');
  for (const connection of mysql) {
    const url = connection.url ?? mysqlUrl(connection);
    if (connection.password) secrets.add(url);
    env[`${upperSnake(connection.name)}_MYSQL_URL`] = url;
  }
  if (mysql.length === 1) {
    const only = mysql[0]!;
    env.MYSQL_URL = only.url ?? mysqlUrl(only);
    // MYSQL_HOST, MYSQL_TCP_PORT and MYSQL_PWD are what the mysql and mariadb clients read themselves.
    env.MYSQL_HOST = only.host;
    env.MYSQL_TCP_PORT = String(only.port);
    if (only.user) env.MYSQL_USER = only.user;
    if (only.password) env.MYSQL_PWD = only.password;
    env.MYSQL_DATABASE = only.database ?? only.name;
  }
}

function mysqlUrl(c: LocalConnection): string {
  const auth = c.user ? `${encodeURIComponent(c.user)}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@` : '';
  return `mysql://${auth}${c.host}:${c.port}/${encodeURIComponent(c.database ?? c.name)}`;
}
