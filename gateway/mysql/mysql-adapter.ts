import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { SessionContext } from '../identity/session-context.ts';
import { acceptClient, readClearPassword, type AcceptedClient } from './client-handshake.ts';
import { encodeErr, encodeOk } from './codec/responses.ts';
import { isSafeCollation } from './collations.ts';
import type { MysqlGate, MysqlResultFilter } from './mysql-gate.ts';
import type { MysqlConnectionConfig } from './mysql-config.ts';
import { MysqlRelay } from './relay/mysql-relay.ts';
import { checkCharset, SessionMode } from './relay/session-mode.ts';
import { runSessionPrelude, TRACKING_SQL } from './session-prelude.ts';
import { createMysqlAnalysisCache } from './sql/analyze-mysql.ts';
import { sqlModeFlags, versionOf } from './sql/lexer-mode.ts';
import { connectUpstream } from './upstream-connection.ts';

/** How a client stream reached the gateway (as for PostgreSQL). */
export interface MysqlStreamOrigin {
  session?: SessionContext;
  connection?: string;
  loopback: boolean;
}

export interface MysqlAdapterDeps {
  connections: Record<string, MysqlConnectionConfig>;
  tls?: tls.SecureContextOptions;
  limits: { maxMessageBytes: number; maxStatementBytes: number };
  authenticate(token: string): Promise<SessionContext | null>;
  createGate(session: SessionContext, connection: MysqlConnectionConfig): MysqlGate;
  createFilter?(session: SessionContext, connection: MysqlConnectionConfig): MysqlResultFilter | undefined;
  log(message: string): void;
}

const ER = { accessDenied: 1045, badDb: 1049, handshake: 1043, unknown: 1105 } as const;

/**
 * The MySQL/MariaDB protocol adapter: a server to the client, a client to the target. The
 * database name picks the connection, the password is the session token (cleartext, so only
 * over TLS or loopback; tunnel streams arrive authenticated), and the target is connected with
 * the gateway's credential only once the client's capabilities are known.
 */
export function createMysqlAdapter(deps: MysqlAdapterDeps) {
  const cache = createMysqlAnalysisCache();
  const live = new Map<string, Set<MysqlRelay>>();
  let connectionIds = 1;
  /** The version the last target greeted with: what the gateway tells the next client it is. */
  let lastVersion = '5.5.5-10.11.0-MariaDB-gatehouse';

  function refuse(client: AcceptedClient | undefined, stream: Duplex, code: number, message: string): void {
    const payload = encodeErr({
      code,
      sqlState: code === ER.accessDenied ? '28000' : 'HY000',
      message: `gatehouse: ${message}`,
    });
    if (client) client.channel.write(payload);
    stream.end();
  }

  async function handle(socket: Duplex, origin: MysqlStreamOrigin): Promise<void> {
    socket.on('error', () => socket.destroy());
    let client: AcceptedClient | undefined;
    try {
      client = await acceptClient(socket, {
        serverVersion: lastVersion,
        mariadb: /mariadb/i.test(lastVersion),
        connectionId: connectionIds++,
        characterSet: 45,
        tls: origin.session ? undefined : deps.tls,
      });
      const name = origin.connection ?? client.response.database ?? '';
      const connection = deps.connections[name];
      if (
        !connection ||
        (origin.connection && client.response.database && client.response.database !== origin.connection)
      ) {
        const known = Object.keys(deps.connections).join(', ') || '(none configured)';
        return refuse(
          client,
          client.channel.stream,
          ER.badDb,
          `connection "${name}" does not exist on this gateway; use one of: ${known} as the database name`,
        );
      }
      const session = origin.session ?? (await authenticateClient(client, origin));
      if (!session) return;
      if (!session.connections.some((c) => c === '*' || c === connection.name))
        return refuse(
          client,
          client.channel.stream,
          ER.accessDenied,
          `session ${session.sessionId} was not granted connection "${connection.name}"`,
        );
      if (!isSafeCollation(client.response.characterSet))
        return refuse(
          client,
          client.channel.stream,
          ER.handshake,
          `character set ${client.response.characterSet} is not accepted (multi-byte sets could hide quotes from the gateway); use utf8mb4`,
        );
      await relay(client, session, connection);
    } catch (error) {
      const known = error instanceof GatehouseError;
      deps.log(`mysql: handshake failed: ${known ? error.message : (error as Error).stack}`);
      refuse(
        client,
        client?.channel.stream ?? socket,
        ER.unknown,
        known ? error.message : 'the gateway could not start this connection; see the gateway log',
      );
    }
  }

  async function authenticateClient(client: AcceptedClient, origin: MysqlStreamOrigin): Promise<SessionContext | null> {
    const stream = client.channel.stream;
    if (!client.encrypted && !origin.loopback) {
      refuse(
        client,
        stream,
        ER.accessDenied,
        'the session token may only be sent over TLS or from loopback; connect with --ssl (the gateway needs tls: in gatehouse.yaml) or through `gatehouse connect`',
      );
      return null;
    }
    const session = await deps.authenticate(await readClearPassword(client));
    if (!session)
      refuse(
        client,
        stream,
        ER.accessDenied,
        'the password is not a valid gateway session token (it may have expired or been revoked)',
      );
    return session;
  }

  async function relay(
    client: AcceptedClient,
    session: SessionContext,
    connection: MysqlConnectionConfig,
  ): Promise<void> {
    const upstream = await connectUpstream(
      connection,
      {
        capabilities: client.capabilities,
        mariadbCapabilities: client.mariadbCapabilities,
        characterSet: client.response.characterSet,
        attributes: client.response.attributes,
      },
      { maxPacketBytes: deps.limits.maxMessageBytes },
    );
    lastVersion = upstream.greeting.serverVersion;
    const prelude = await runSessionPrelude(upstream.socket, upstream.leftover).catch((error) => {
      upstream.socket.destroy();
      throw error;
    });
    checkCharset(prelude.start.characterSetClient);
    const mode = new SessionMode({
      ...versionOf(upstream.greeting.serverVersion),
      ...sqlModeFlags(prelude.start.sqlMode),
    });
    client.channel.write(
      encodeOk(
        {
          header: 0,
          affectedRows: 0,
          lastInsertId: 0,
          statusFlags: upstream.statusFlags,
          warnings: 0,
          info: '',
          sessionState: [],
        },
        client.capabilities,
      ),
    );
    const { stream, leftover } = client.channel.detach();
    const gate = deps.createGate(session, connection);
    const relay: MysqlRelay = new MysqlRelay(
      stream,
      { ...upstream, leftover: prelude.leftover },
      {
        clientCapabilities: client.capabilities,
        mode,
        gate,
        filter: deps.createFilter?.(session, connection),
        cache,
        maxPacketBytes: deps.limits.maxMessageBytes,
        maxStatementBytes: deps.limits.maxStatementBytes,
        resetSql: TRACKING_SQL,
        onClosed: () => live.get(session.sessionId)?.delete(relay),
        log: deps.log,
      },
    );
    if (!live.has(session.sessionId)) live.set(session.sessionId, new Set());
    live.get(session.sessionId)!.add(relay);
    relay.start(leftover);
  }

  return {
    handle,
    /** Closes every live connection of a session (expired, revoked) with a clear error. */
    endSession(sessionId: string, message: string): void {
      for (const relay of live.get(sessionId) ?? []) relay.terminate(message);
      live.delete(sessionId);
    },
  };
}

export type MysqlAdapter = ReturnType<typeof createMysqlAdapter>;
