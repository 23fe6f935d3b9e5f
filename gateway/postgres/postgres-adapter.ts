import type { Duplex } from 'node:stream';
import type { BlastMeter } from './blast-meter.ts';
import type { GatehouseConfig, PostgresConnectionConfig } from '../config/config-types.ts';
import type { ProtocolAdapter, StreamOrigin } from '../enforcement/adapter-contract.ts';
import type { LiveSessions } from '../enforcement/live-sessions.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Clock, SessionContext } from '../identity/session-context.ts';
import { sessionGrants } from '../identity/session-grants.ts';
import type { GatewayMetrics } from '../server/metrics.ts';
import type { SessionEndReason } from '../../wire/audit-events.ts';
import { backendMessages } from './backend-messages.ts';
import { CancelRegistry } from './cancel-registry.ts';
import { acceptStartup, type HandshakeResult, refuseStartup, requestPassword, SQLSTATE } from './client-handshake.ts';
import { postgresConnectionType } from './postgres-connection.ts';
import { createLoginLimiter, type LoginAdmission, type LoginLimiter, unlimitedLogin } from '../server/login-limiter.ts';
import { judgeStartupSettings } from './startup-settings.ts';
import { watchSettings } from './server-settings.ts';
import { SessionRelay } from './session-relay.ts';
import type { GateControl, ResultFilter, StatementGate } from './statement-gate.ts';
import { connectToTarget } from './target-connection.ts';

/** What one client connection's statements pass: its gate (policy, approvals, audit) and its masking filter, made together. */
export interface ClientSide {
  gate: StatementGate;
  /** Absent when nothing on the connection is masked. */
  filter?: ResultFilter;
  /** The connection's read and write bounds (policy `limits:`); absent when none applies. */
  meter?: BlastMeter;
  /**
   * Startup parameters the gateway imposes on the target session (default_transaction_read_only
   * for a read-only policy); the server must report them back unchanged for the session's life.
   */
  targetParameters?: Readonly<Record<string, string>>;
  /** The target answered its startup with these settings; returns why its statements cannot be analysed (an unsupported version), or null. */
  targetReady?(parameters: ReadonlyMap<string, string>): string | null;
}

/** The seams of the PostgreSQL protocol path: sessions, and per client connection its gate and masking filter. */
export interface PostgresAdapterDeps {
  config: GatehouseConfig;
  /** Resolves a session token (the password on the native listener) to its session. */
  authenticate(token: string): Promise<SessionContext | null>;
  openClient(session: SessionContext, connection: PostgresConnectionConfig): ClientSide;
  live: LiveSessions;
  clock: Clock;
  metrics: GatewayMetrics;
  log(message: string): void;
  /** Releases what the gates and filters hold (masking metadata connections). */
  close?(): Promise<void>;
}

type Startup = Extract<HandshakeResult, { kind: 'startup' }>;

const TYPE = postgresConnectionType.type;

/**
 * The PostgreSQL protocol adapter: a server to the client, a client to the target. The database
 * name picks the connection, the password is the session token (native listener), and every
 * statement then passes the connection's StatementGate.
 */
export function createPostgresAdapter(deps: PostgresAdapterDeps): ProtocolAdapter {
  return new PostgresAdapter(deps);
}

class PostgresAdapter implements ProtocolAdapter {
  readonly type = TYPE;
  readonly configSchema = postgresConnectionType.schema;
  readonly listenAddress: string;
  private readonly cancels = new CancelRegistry();
  private readonly tlsOptions: { cert: string; key: string } | undefined;
  private readonly logins: LoginLimiter;
  /** Connections of each session between their login and their registration in `live`. */
  private readonly opening = new Map<string, number>();

  constructor(private readonly deps: PostgresAdapterDeps) {
    this.listenAddress = deps.config.listen.postgres;
    this.tlsOptions = deps.config.tls ? { cert: deps.config.tls.cert, key: deps.config.tls.key } : undefined;
    const { limits } = deps.config;
    this.logins = createLoginLimiter({
      timeoutMs: limits.authenticationTimeoutMs,
      maxTotal: limits.maxUnauthenticated,
      maxPerSource: limits.maxUnauthenticatedPerSource,
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
    await this.deps.close?.();
  }

  private async serve(socket: Duplex, origin: StreamOrigin): Promise<void> {
    socket.on('error', () => socket.destroy());
    const admission = origin.session ? unlimitedLogin : this.logins.admit(origin.remoteAddress);
    if ('refused' in admission) {
      this.deps.metrics.errors.inc({ code: 'pg.login-limit' });
      return refuseStartup(socket, SQLSTATE.tooManyConnections, `gatehouse: ${admission.refused}`);
    }
    let stream: Duplex = socket;
    try {
      const startup = await acceptStartup(socket, {
        tls: this.tlsOptions,
        maxMessageBytes: this.deps.config.limits.maxMessageBytes,
        deadline: admission.timedOut,
      });
      if (startup.kind === 'cancel') {
        this.cancels.cancel(startup.pid, startup.secret);
        socket.end();
        return;
      }
      stream = startup.stream;
      await this.start(stream, startup, origin, admission);
    } catch (error) {
      this.startupFailed(stream, error);
    } finally {
      admission.release();
    }
  }

  private async start(stream: Duplex, startup: Startup, origin: StreamOrigin, admission: LoginAdmission) {
    // Nothing about the gateway's connections is said before the token is verified.
    const session = origin.session ?? (await this.authenticate(stream, startup, origin, admission.timedOut));
    if (!session) return;
    admission.authenticated();
    const connection = this.connectionFor(stream, startup.database, origin, session);
    if (!connection) return;
    const opening = this.opening.get(session.sessionId) ?? 0;
    const open = this.deps.live.count(session.sessionId, TYPE) + opening;
    const { maxConnectionsPerSession } = this.deps.config.limits;
    if (open >= maxConnectionsPerSession) {
      this.deps.metrics.errors.inc({ code: 'pg.session-connection-limit' });
      return refuseStartup(
        stream,
        SQLSTATE.tooManyConnections,
        `gatehouse: session ${session.sessionId} already has ${open} connections open (limits.max_connections_per_session is ${maxConnectionsPerSession})`,
        'close connections you no longer use, or lower the pool size of the job',
      );
    }
    this.opening.set(session.sessionId, opening + 1);
    try {
      await this.relay(stream, startup, session, connection);
    } finally {
      const left = (this.opening.get(session.sessionId) ?? 1) - 1;
      if (left > 0) this.opening.set(session.sessionId, left);
      else this.opening.delete(session.sessionId);
    }
  }

  /** The connection the database name picks, if the session may use it; else the client is refused. */
  private connectionFor(
    stream: Duplex,
    database: string,
    origin: StreamOrigin,
    session: SessionContext,
  ): PostgresConnectionConfig | undefined {
    const { config } = this.deps;
    const connection = config.connections[database];
    if (!connection || connection.type !== TYPE || (origin.connection && origin.connection !== database)) {
      const granted = Object.values(config.connections)
        .filter((c) => c.type === TYPE && sessionGrants(session, c.name, this.deps.clock.now()))
        .map((c) => c.name);
      refuseStartup(
        stream,
        SQLSTATE.invalidCatalogName,
        `connection "${database}" does not exist on this gateway`,
        `this session may use: ${granted.join(', ') || '(no PostgreSQL connection)'} as the database name`,
      );
      return undefined;
    }
    if (!sessionGrants(session, connection.name, this.deps.clock.now())) {
      refuseStartup(
        stream,
        SQLSTATE.insufficientPrivilege,
        `session ${session.sessionId} was not granted connection "${connection.name}"`,
        'request it in the session exchange (connections: [...]) and allow it in the identity rule',
      );
      return undefined;
    }
    return connection;
  }

  private startupFailed(stream: Duplex, error: unknown): void {
    const known = error instanceof GatehouseError;
    this.deps.metrics.errors.inc({ code: known ? error.code : 'internal' });
    if (known && error.code === 'pg.startup-closed') return void stream.destroy();
    if (!known) this.deps.log(`postgres: unexpected error during startup: ${(error as Error).stack}`);
    const serverCode = known ? (error.cause as { code?: unknown } | undefined)?.code : undefined;
    const code =
      typeof serverCode === 'string'
        ? serverCode
        : known && error.code.startsWith('pg.target')
          ? SQLSTATE.connectionFailure
          : SQLSTATE.protocolViolation;
    const message = known ? error.message : 'the gateway could not start this connection; see the gateway log';
    refuseStartup(stream, code, message);
  }

  private async authenticate(
    stream: Duplex,
    startup: Startup,
    origin: StreamOrigin,
    deadline: AbortSignal,
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
    const password = await requestPassword(stream, startup.frames, deadline);
    const session = await this.deps.authenticate(password);
    if (!session) {
      this.deps.metrics.errors.inc({ code: 'pg.bad-token' });
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

  private async relay(
    stream: Duplex,
    startup: Startup,
    session: SessionContext,
    connection: PostgresConnectionConfig,
  ): Promise<void> {
    const { deps } = this;
    const { gate, filter, meter, targetParameters = {}, targetReady } = deps.openClient(session, connection);
    // As PostgreSQL does: authenticated first, then the session's settings and backend start (notices may come between).
    stream.write(backendMessages.authenticationOk());
    const judged = await judgeStartupSettings(gate, startup.parameters, startupControl(stream));
    if ('refused' in judged) {
      gate.close('startup-refused');
      const { code, message, detail, hint } = judged.refused;
      return refuseStartup(stream, code, message, hint, detail);
    }
    const target = await connectToTarget(connection, {
      clientParameters: { ...judged.forward, ...targetParameters },
    });
    const settings = watchSettings(target.parameters, targetParameters);
    const problem = settings.startupProblem() ?? targetReady?.(target.parameters) ?? null;
    if (problem) {
      target.socket.destroy();
      gate.close('target-settings');
      throw new GatehouseError('pg.target-settings', `the target session cannot be used: ${problem}`);
    }
    const relay = new SessionRelay(stream, target, gate, filter, {
      settings,
      maxMessageBytes: deps.config.limits.maxMessageBytes,
      sampleRows: deps.config.audit.sampleRows,
      ...(meter ? { meter } : {}),
      onBytes: (direction, bytes) => deps.metrics.bytes.inc({ direction }, bytes),
      onClosed: () => {
        key.release();
        release();
        deps.metrics.connections.dec({ protocol: TYPE });
      },
      log: deps.log,
    });
    const key = this.cancels.register(relay, target.backendKey.pid);
    const release = deps.live.add(session, TYPE, (reason) => relay.terminate(endMessage(reason)));
    deps.metrics.connections.inc({ protocol: TYPE });
    deps.metrics.connectionsTotal.inc({ protocol: TYPE });
    const greeting: Buffer[] = [];
    for (const [name, value] of target.parameters) greeting.push(backendMessages.parameterStatus(name, value));
    greeting.push(backendMessages.backendKeyData(key.pid, key.secret), backendMessages.readyForQuery('I'));
    stream.write(Buffer.concat(greeting));
    relay.start(startup.frames.takeRemainder());
  }
}

/** How a statement held for approval during startup talks to the waiting client. */
function startupControl(stream: Duplex): GateControl {
  const closed = new AbortController();
  stream.once('close', () => closed.abort());
  return {
    notice: (message, detail, hint) =>
      stream.write(backendMessages.noticeResponse({ code: '00000', message, detail, hint })),
    signal: closed.signal,
  };
}

/** The FATAL message a client gets when its session ends under it. */
function endMessage(reason: SessionEndReason): string {
  return `gatehouse: session ${reason === 'expired' ? 'expired' : 'ended'}; start a new session to continue`;
}
