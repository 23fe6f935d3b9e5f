import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { ProtocolAdapter, StreamOrigin } from '../enforcement/adapter-contract.ts';
import type { LiveSessions } from '../enforcement/live-sessions.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { SessionEndReason } from '../../wire/audit-events.ts';
import { acceptClient, readClearPassword, type AcceptedClient } from './client-handshake.ts';
import { encodeErr, encodeOk } from './codec/responses.ts';
import { isSafeCollation } from './collations.ts';
import type { MysqlConnectionConfig } from './mysql-config.ts';
import { mysqlConnectionType } from './mysql-connection.ts';
import type { MysqlGate, MysqlResultFilter } from './mysql-gate.ts';
import { KillRegistry } from './relay/kill-mapping.ts';
import { MysqlRelay } from './relay/mysql-relay.ts';
import { checkCharset, SessionMode } from './relay/session-mode.ts';
import { runSessionPrelude, TRACKING_SQL } from './session-prelude.ts';
import { createMysqlAnalysisCache } from './sql/analyze-mysql.ts';
import { sqlModeFlags, versionOf } from './sql/lexer-mode.ts';
import { connectUpstream, probeServerVersion } from './upstream-connection.ts';

/** What one client connection's commands pass: its gate (policy, approvals, audit) and its masking filter. */
export interface MysqlClientSide {
  gate: MysqlGate;
  filter?: MysqlResultFilter;
}

/** The seams of the MySQL protocol path: sessions, and per client connection its gate and filter. */
export interface MysqlAdapterDeps {
  connections: Record<string, MysqlConnectionConfig>;
  /** TLS for clients of the native listener. */
  tls?: tls.SecureContextOptions;
  limits: { maxMessageBytes: number; maxStatementBytes: number };
  listenAddress?: string;
  authenticate(token: string): Promise<SessionContext | null>;
  openClient(session: SessionContext, connection: MysqlConnectionConfig): MysqlClientSide;
  live: LiveSessions;
  log(message: string): void;
}

const ER = { accessDenied: 1045, badDb: 1049, handshake: 1043, unknown: 1105 } as const;
const TYPE = mysqlConnectionType.type;

/**
 * The MySQL/MariaDB protocol adapter: a server to the client, a client to the target. The
 * database name picks the connection, the password is the session token (sent in clear, so only
 * over TLS or loopback; tunnel streams arrive authenticated), and the target is connected with
 * the gateway's credential once the client's capabilities are known.
 */
export function createMysqlAdapter(deps: MysqlAdapterDeps): ProtocolAdapter {
  return new MysqlAdapter(deps);
}

class MysqlAdapter implements ProtocolAdapter {
  readonly type = TYPE;
  readonly configSchema = mysqlConnectionType.schema;
  readonly listenAddress: string | undefined;
  private readonly cache = createMysqlAnalysisCache();
  private connectionIds = 1;
  private readonly kills = new KillRegistry();
  /** The version the last target greeted with: what the gateway tells the next client it is. */
  private lastVersion = '5.5.5-10.11.0-MariaDB-gatehouse';

  constructor(private readonly deps: MysqlAdapterDeps) {
    this.listenAddress = deps.listenAddress;
    const first = Object.values(deps.connections)[0];
    if (first)
      void probeServerVersion(first).then((version) => {
        if (version && this.lastVersion.endsWith('-gatehouse')) this.lastVersion = version;
      });
  }

  accept(stream: Duplex, origin: StreamOrigin): void {
    void this.serve(stream, origin);
  }

  endSession(sessionId: string, reason: SessionEndReason): void {
    this.deps.live.end(sessionId, reason, TYPE);
  }

  async close(): Promise<void> {
    this.deps.live.endAll('gateway-restart', TYPE);
  }

  private refuse(client: AcceptedClient | undefined, stream: Duplex, code: number, message: string): void {
    const sqlState = code === ER.accessDenied ? '28000' : code === ER.badDb ? '42000' : 'HY000';
    if (client) client.channel.write(encodeErr({ code, sqlState, message: `gatehouse: ${message}` }));
    stream.end();
  }

  private async serve(socket: Duplex, origin: StreamOrigin): Promise<void> {
    socket.on('error', () => socket.destroy());
    (socket as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    let client: AcceptedClient | undefined;
    const connectionId = this.connectionIds++;
    try {
      client = await acceptClient(socket, {
        serverVersion: this.lastVersion,
        mariadb: /mariadb/i.test(this.lastVersion),
        connectionId,
        characterSet: 45,
        tls: origin.session ? undefined : this.deps.tls,
      });
      const checked = await this.admit(client, origin);
      if (checked) await this.relay({ client, connectionId, ...checked });
    } catch (error) {
      const known = error instanceof GatehouseError;
      this.deps.log(`mysql: the handshake failed: ${known ? error.message : (error as Error).stack}`);
      const message = known ? error.message : 'the gateway could not start this connection; see the gateway log';
      this.refuse(client, client?.channel.stream ?? socket, ER.unknown, message);
    }
  }

  /** Picks the connection (database name), authenticates the session and checks grant and character set. */
  private async admit(client: AcceptedClient, origin: StreamOrigin) {
    const stream = client.channel.stream;
    const picked = pickConnection(client.response, origin, this.deps.connections);
    if (!picked) {
      const known = Object.keys(this.deps.connections).join(', ') || '(none configured)';
      const named = origin.connection ?? client.response.database ?? '';
      return this.refuse(
        client,
        stream,
        ER.badDb,
        `connection "${named}" does not exist on this gateway; use one of: ${known} as the database (or user) name`,
      );
    }
    const { connection, database } = picked;
    const session = origin.session ?? (await this.authenticate(client, origin));
    if (!session) return undefined;
    if (!session.connections.some((c) => c === '*' || c === connection.name))
      return this.refuse(
        client,
        stream,
        ER.accessDenied,
        `session ${session.sessionId} was not granted connection "${connection.name}"`,
      );
    if (!isSafeCollation(client.response.characterSet))
      return this.refuse(
        client,
        stream,
        ER.handshake,
        `character set ${client.response.characterSet} is not accepted (multi-byte sets could hide quotes from the gateway); use utf8mb4`,
      );
    return { session, connection, database };
  }

  private async authenticate(client: AcceptedClient, origin: StreamOrigin): Promise<SessionContext | null> {
    const stream = client.channel.stream;
    if (!client.encrypted && !origin.loopback) {
      this.refuse(
        client,
        stream,
        ER.accessDenied,
        'the session token may only be sent over TLS or from loopback; connect with --ssl (the gateway needs tls: in gatehouse.yaml) or through `gatehouse connect`',
      );
      return null;
    }
    const session = await this.deps.authenticate(await readClearPassword(client));
    if (!session)
      this.refuse(
        client,
        stream,
        ER.accessDenied,
        'the password is not a valid gateway session token (it may have expired or been revoked)',
      );
    return session;
  }

  /** Connects the target for `client` and runs the gateway's session prelude on it. */
  private async openTarget(client: AcceptedClient, connection: MysqlConnectionConfig, database?: string) {
    const { response } = client;
    const request = {
      capabilities: client.capabilities,
      mariadbCapabilities: client.mariadbCapabilities,
      characterSet: response.characterSet,
      attributes: response.attributes,
      database,
    };
    const upstream = await connectUpstream(connection, request, { maxPacketBytes: this.deps.limits.maxMessageBytes });
    this.lastVersion = upstream.greeting.serverVersion;
    const prelude = await runSessionPrelude(upstream.socket, upstream.leftover).catch((error) => {
      upstream.socket.destroy();
      throw error;
    });
    checkCharset(prelude.start.characterSetClient);
    const mode = new SessionMode({
      ...versionOf(upstream.greeting.serverVersion),
      ...sqlModeFlags(prelude.start.sqlMode),
    });
    return { upstream, prelude, mode };
  }

  private async relay(admitted: {
    client: AcceptedClient;
    connectionId: number;
    session: SessionContext;
    connection: MysqlConnectionConfig;
    database?: string;
  }): Promise<void> {
    const { client, session, connection, database } = admitted;
    const { upstream, prelude, mode } = await this.openTarget(client, connection, database);
    const ok = {
      header: 0 as const,
      affectedRows: 0,
      lastInsertId: 0,
      statusFlags: upstream.statusFlags,
      warnings: 0,
      info: '',
      sessionState: [],
    };
    client.channel.write(encodeOk(ok, client.capabilities));
    const { stream, leftover } = client.channel.detach();
    const side = this.deps.openClient(session, connection);
    let release = () => {};
    const forget = this.kills.add(admitted.connectionId, session.sessionId, upstream.greeting.connectionId);
    const relay = new MysqlRelay(
      stream,
      { ...upstream, leftover: prelude.leftover },
      {
        clientCapabilities: client.capabilities,
        mode,
        gate: side.gate,
        filter: side.filter,
        cache: this.cache,
        maxPacketBytes: this.deps.limits.maxMessageBytes,
        maxStatementBytes: this.deps.limits.maxStatementBytes,
        resetSql: TRACKING_SQL,
        onClosed: () => {
          release();
          forget();
        },
        killTarget: (id) => this.kills.threadFor(id, session.sessionId),
        log: this.deps.log,
      },
    );
    release = this.deps.live.add(session, TYPE, (reason) =>
      relay.terminate(`gatehouse: the session ended (${reason})`),
    );
    relay.start(leftover);
  }
}

/**
 * Which connection a client means, and the schema to open on it. The database name picks the
 * connection (the schema is then the connection URL's); so does the user name (tools such as
 * mariadb-dump name real schemas, which are passed on); a tunnel stream is for its own
 * connection; with a single MySQL connection, that one.
 */
export function pickConnection(
  response: { database?: string; username: string },
  origin: StreamOrigin,
  connections: Record<string, MysqlConnectionConfig>,
): { connection: MysqlConnectionConfig; database?: string } | undefined {
  const db = response.database || undefined;
  const named = (name: string | undefined) => (name !== undefined ? connections[name] : undefined);
  if (origin.connection) {
    const connection = named(origin.connection);
    if (!connection) return undefined;
    return { connection, database: db === origin.connection ? undefined : db };
  }
  if (named(db)) return { connection: named(db)! };
  const byUser =
    named(response.username) ?? (Object.keys(connections).length === 1 ? Object.values(connections)[0] : undefined);
  return byUser ? { connection: byUser, database: db } : undefined;
}
