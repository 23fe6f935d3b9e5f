import type { Duplex } from 'node:stream';
import ssh2, { type ClientInfo, type Connection, type Server } from 'ssh2';
import type { ConnectionConfig, SshConnectionConfig } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import { authenticateClient, type AuthOutcome } from './client-auth.ts';
import { ConnectionContext } from './connection-context.ts';
import { handleForwarding } from './forwarding.ts';
import type { SshHostKey } from './host-key.ts';
import { type HostKeyPin, parseHostKeyPin } from './host-key-pin.ts';
import { DEFAULT_RECORDING, type SshGatewayDeps, type SshRecordingOptions } from './ports.ts';
import { handleSession } from './session-channel.ts';

/** Authentication answers (including public key probes) before the client is disconnected. */
const MAX_AUTH_ATTEMPTS = 10;

export interface SshGatewayOptions {
  hostKey: SshHostKey;
  /** gatehouse.yaml connections; only `type: ssh` ones are reachable over SSH. */
  connections: Record<string, ConnectionConfig> | readonly ConnectionConfig[];
  deps: SshGatewayDeps;
  recording?: Partial<SshRecordingOptions>;
  /** Client keepalive, so dead runners do not hold upstream connections. */
  keepaliveMs?: number;
  /** ssh2's protocol trace, for diagnosing a client that cannot connect. */
  debug?: (message: string) => void;
}

/**
 * The SSH side of the gateway. `server` is an ssh2 Server for the native listener
 * (`listen.ssh`: user = connection name, password = session token); `acceptTunnelStream` takes a
 * stream the WebSocket tunnel already authenticated as `session`, on which the client must then
 * prove the ephemeral key `gatehouse connect` registered with that session.
 */
export interface SshGateway {
  server: Server;
  hostKey: SshHostKey;
  /** `connection`, when given, is the one the tunnel was opened for: the SSH user must name it. */
  acceptTunnelStream(stream: Duplex, session: SessionContext, connection?: string): void;
  /** Disconnects every client of a session that ended (revoked, expired, job finished). */
  endSession(sessionId: string): void;
  /** Stops listening and ends every client connection (and so their upstreams). */
  close(): Promise<void>;
}

/** Creates the SSH gateway; throws a GatehouseError when a connection's `host_key` is unusable. */
export function createSshGateway(options: SshGatewayOptions): SshGateway {
  const targets = sshTargets(options.connections);
  const recording: SshRecordingOptions = { ...DEFAULT_RECORDING, ...options.recording };
  const tunnelSessions = new WeakMap<object, { session: SessionContext; connection?: string }>();
  const clients = new Map<Connection, ConnectionContext | undefined>();
  const deps = options.deps;
  const server = new ssh2.Server({
    hostKeys: [options.hostKey.privateKey],
    ident: 'Gatehouse',
    keepaliveInterval: options.keepaliveMs ?? 30_000,
    debug: options.debug,
  });

  server.on('connection', (client: Connection, info: ClientInfo) => {
    clients.set(client, undefined);
    // ssh2 does not hand the socket to this listener; it is how a tunnel stream is recognised.
    const tunnel = tunnelSessions.get((client as unknown as { _sock: object })._sock);
    let ctx: ConnectionContext | undefined;
    let expiry: NodeJS.Timeout | undefined;
    let failures = 0;
    client.on('error', (error) => deps.log?.(`ssh client ${info.ip ?? 'tunnel'}: ${error.message}`));
    client.on('authentication', (auth) => {
      void authenticateClient(auth, {
        deps,
        targets,
        tunnel: tunnel?.session,
        tunnelConnection: tunnel?.connection,
      }).then(
        (outcome: AuthOutcome | null) => {
          if (!outcome) {
            if (++failures >= MAX_AUTH_ATTEMPTS) client.end();
            return;
          }
          ctx ??= new ConnectionContext(deps, outcome.config, outcome.pin, outcome.session, recording);
          clients.set(client, ctx);
          auth.accept();
        },
        (error: Error) => {
          deps.log?.(`ssh authentication failed: ${error.message}`);
          auth.reject();
        },
      );
    });
    client.on('ready', () => {
      if (!ctx) return client.end();
      const active = ctx;
      const remaining = active.session.expiresAt.getTime() - active.now();
      expiry = setTimeout(() => client.end(), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
      client.on('session', (accept) => handleSession(active, accept()));
      handleForwarding(active, client);
    });
    client.on('close', () => {
      clients.delete(client);
      if (expiry) clearTimeout(expiry);
      ctx?.close();
    });
  });
  server.on('error', (error: Error) => deps.log?.(`ssh server: ${error.message}`));

  return {
    server,
    hostKey: options.hostKey,
    endSession(sessionId) {
      for (const [client, ctx] of clients) if (ctx?.session.sessionId === sessionId) client.end();
    },
    acceptTunnelStream(stream, session, connection) {
      tunnelSessions.set(stream, { session, connection });
      stream.on('error', (error: Error) => deps.log?.(`ssh tunnel stream: ${error.message}`));
      server.injectSocket(stream as never);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients.keys()) client.end();
        if (!server.address()) return resolve();
        server.close(() => resolve());
      }),
  };
}

/** The configured SSH targets by name, with their parsed host key pins. */
export interface SshTarget {
  config: SshConnectionConfig;
  pin: HostKeyPin;
}

function sshTargets(connections: SshGatewayOptions['connections']): Map<string, SshTarget> {
  const list = Array.isArray(connections) ? connections : Object.values(connections);
  const targets = new Map<string, SshTarget>();
  for (const config of list as ConnectionConfig[]) {
    if (config.type !== 'ssh') continue;
    targets.set(config.name, { config, pin: parseHostKeyPin(config.hostKey, config.name) });
  }
  return targets;
}
