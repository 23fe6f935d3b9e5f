import type { Duplex } from 'node:stream';
import type { GatehouseConfig, PostgresConnectionConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { GatewayMetrics } from '../server/metrics.ts';
import { backendMessages } from './backend-messages.ts';
import { CancelRegistry } from './cancel-registry.ts';
import { acceptStartup, refuseStartup, requestPassword, SQLSTATE } from './client-handshake.ts';
import { SessionRelay } from './session-relay.ts';
import type { ResultFilter, StatementGate } from './statement-gate.ts';
import { connectToTarget } from './target-connection.ts';

export interface PostgresAdapterDeps {
  config: GatehouseConfig;
  /** Resolves a session token (the password on the native listener) to its session. */
  authenticate(token: string): Promise<SessionContext | null>;
  createGate(session: SessionContext, connection: PostgresConnectionConfig): StatementGate;
  /** The masking filter of a connection, or undefined when nothing there is masked. */
  createFilter(session: SessionContext, connection: PostgresConnectionConfig): ResultFilter | undefined;
  metrics: GatewayMetrics;
  log(message: string): void;
}

/** How a client stream reached the gateway. */
export interface StreamOrigin {
  /** Set for tunnel streams, which were authenticated by their Bearer token. */
  session?: SessionContext;
  /** The connection a tunnel stream was opened for (the database name must match it). */
  connection?: string;
  /** Loopback clients may send a cleartext password without TLS. */
  loopback: boolean;
}

/**
 * The PostgreSQL protocol adapter: a server to the client, a client to the target. The database
 * name picks the connection, the password is the session token (native listener), and every
 * statement then passes the connection's StatementGate.
 */
export function createPostgresAdapter(deps: PostgresAdapterDeps) {
  const cancels = new CancelRegistry();
  const live = new Map<string, Set<SessionRelay>>();
  const tlsOptions = deps.config.tls ? { cert: deps.config.tls.cert, key: deps.config.tls.key } : undefined;

  async function handle(socket: Duplex, origin: StreamOrigin): Promise<void> {
    socket.on('error', () => socket.destroy());
    let stream: Duplex = socket;
    try {
      const startup = await acceptStartup(socket, {
        tls: tlsOptions,
        maxMessageBytes: deps.config.limits.maxMessageBytes,
      });
      if (startup.kind === 'cancel') {
        cancels.cancel(startup.pid, startup.secret);
        socket.end();
        return;
      }
      stream = startup.stream;
      const connection = deps.config.connections[startup.database];
      if (
        !connection ||
        connection.type !== 'postgres' ||
        (origin.connection && origin.connection !== startup.database)
      ) {
        const known = Object.entries(deps.config.connections)
          .filter(([, c]) => c.type === 'postgres')
          .map(([n]) => n);
        return refuseStartup(
          stream,
          SQLSTATE.invalidCatalogName,
          `connection "${startup.database}" does not exist on this gateway`,
          `use one of: ${known.join(', ') || '(none configured)'} as the database name`,
        );
      }
      const session = origin.session ?? (await authenticateClient(stream, startup, origin));
      if (!session) return;
      if (!grants(session, connection.name)) {
        return refuseStartup(
          stream,
          SQLSTATE.insufficientPrivilege,
          `session ${session.sessionId} was not granted connection "${connection.name}"`,
          'request it in the session exchange (connections: [...]) and allow it in the identity rule',
        );
      }
      await relay(stream, startup.frames.takeRemainder(), session, connection, startup.parameters);
    } catch (error) {
      const known = error instanceof GatehouseError;
      deps.metrics.errors.inc({ code: known ? error.code : 'internal' });
      if (!known) deps.log(`postgres: unexpected error during startup: ${(error as Error).stack}`);
      const code =
        known && error.code.startsWith('pg.target') ? SQLSTATE.connectionFailure : SQLSTATE.protocolViolation;
      refuseStartup(
        stream,
        code,
        known ? error.message : 'the gateway could not start this connection; see the gateway log',
      );
    }
  }

  async function authenticateClient(
    stream: Duplex,
    startup: { encrypted: boolean; frames: any },
    origin: StreamOrigin,
  ): Promise<SessionContext | null> {
    if (!startup.encrypted && !origin.loopback) {
      refuseStartup(
        stream,
        SQLSTATE.invalidAuthorization,
        'the session token may only be sent over TLS or from loopback',
        'connect with sslmode=require (the gateway needs tls: in gatehouse.yaml) or through `gatehouse connect`',
      );
      return null;
    }
    const password = await requestPassword(stream, startup.frames);
    const session = await deps.authenticate(password);
    if (!session) {
      deps.metrics.errors.inc({ code: 'pg.bad-token' });
      refuseStartup(
        stream,
        SQLSTATE.invalidPassword,
        'the password is not a valid gateway session token (it may have expired or been revoked)',
        'use the token from POST /v1/sessions or the URL printed by `gatehouse connect`',
      );
      return null;
    }
    return session;
  }

  async function relay(
    stream: Duplex,
    pending: Buffer,
    session: SessionContext,
    connection: PostgresConnectionConfig,
    parameters: Record<string, string>,
  ): Promise<void> {
    const target = await connectToTarget(connection, { clientParameters: parameters });
    const gate = deps.createGate(session, connection);
    const relay = new SessionRelay(stream, target, gate, deps.createFilter(session, connection), {
      maxMessageBytes: deps.config.limits.maxMessageBytes,
      sampleRows: deps.config.audit.sampleRows,
      onBytes: (direction, bytes) => deps.metrics.bytes.inc({ direction }, bytes),
      onClosed: () => {
        key.release();
        live.get(session.sessionId)?.delete(relay);
        deps.metrics.connections.dec({ protocol: 'postgres' });
      },
      log: deps.log,
    });
    const key = cancels.register(relay);
    if (!live.has(session.sessionId)) live.set(session.sessionId, new Set());
    live.get(session.sessionId)!.add(relay);
    deps.metrics.connections.inc({ protocol: 'postgres' });
    deps.metrics.connectionsTotal.inc({ protocol: 'postgres' });
    const greeting = [backendMessages.authenticationOk()];
    for (const [name, value] of target.parameters) greeting.push(backendMessages.parameterStatus(name, value));
    greeting.push(backendMessages.backendKeyData(key.pid, key.secret), backendMessages.readyForQuery('I'));
    stream.write(Buffer.concat(greeting));
    relay.start(pending);
  }

  return {
    handle,
    /** Closes every live connection of a session (expired, revoked) with a clear FATAL message. */
    endSession(sessionId: string, message: string): void {
      for (const relay of live.get(sessionId) ?? []) relay.terminate(message);
      live.delete(sessionId);
    },
  };
}

export type PostgresAdapter = ReturnType<typeof createPostgresAdapter>;

function grants(session: SessionContext, connection: string): boolean {
  return session.connections.some((name) => name === '*' || name === connection);
}
