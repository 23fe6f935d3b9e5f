import type { Duplex } from 'node:stream';
import ssh2, { type ClientInfo, type Connection } from 'ssh2';
import type { ConnectionConfig, SshConnectionConfig } from '../config/config-types.ts';
import type { ProtocolAdapter, StreamOrigin } from '../enforcement/adapter-contract.ts';
import { authenticateClient, type AuthOutcome } from './client-auth.ts';
import { ConnectionContext } from './connection-context.ts';
import { handleForwarding } from './forwarding.ts';
import type { SshHostKey } from './host-key.ts';
import { type HostKeyPin, parseHostKeyPin } from './host-key-pin.ts';
import { DEFAULT_RECORDING, type SshAdapterDeps, type SshRecordingOptions } from './ports.ts';
import { handleSession } from './session-channel.ts';
import { sshConnectionType } from './ssh-connection.ts';

/** Authentication answers (including public key probes) before the client is disconnected. */
const MAX_AUTH_ATTEMPTS = 10;

const TYPE = sshConnectionType.type;

export interface SshAdapterOptions {
  hostKey: SshHostKey;
  /** gatehouse.yaml connections; only `type: ssh` ones are reachable over SSH. */
  connections: Record<string, ConnectionConfig> | readonly ConnectionConfig[];
  deps: SshAdapterDeps;
  /** `listen.ssh` of gatehouse.yaml: where the native listener is (user = connection, password = session token). */
  listenAddress?: string;
  recording?: Partial<SshRecordingOptions>;
  /** Client keepalive, so dead runners do not hold upstream connections. */
  keepaliveMs?: number;
  /** ssh2's protocol trace, for diagnosing a client that cannot connect. */
  debug?: (message: string) => void;
}

/**
 * The SSH protocol adapter. A stream from the native listener authenticates with user = connection
 * name and password = session token; a tunnel stream (`origin.session`) must then prove the
 * ephemeral key `gatehouse connect` registered with that session.
 */
export interface SshAdapter extends ProtocolAdapter {
  hostKey: SshHostKey;
}

/** Creates the SSH adapter; throws a GatehouseError when a connection's `host_key` is unusable. */
export function createSshAdapter(options: SshAdapterOptions): SshAdapter {
  const targets = sshTargets(options.connections);
  const recording: SshRecordingOptions = { ...DEFAULT_RECORDING, ...options.recording };
  const origins = new WeakMap<object, StreamOrigin>();
  const clients = new Set<Connection>();
  const deps = options.deps;
  const server = new ssh2.Server({
    hostKeys: [options.hostKey.privateKey],
    ident: 'Gatehouse',
    keepaliveInterval: options.keepaliveMs ?? 30_000,
    debug: options.debug,
  });

  server.on('connection', (client: Connection, info: ClientInfo) => {
    // ssh2 does not hand the socket to this listener; it is how the stream's origin is found again.
    const origin = origins.get((client as unknown as { _sock: object })._sock);
    clients.add(client);
    client.on('close', () => clients.delete(client));
    serveClient(client, info, origin, { deps, targets, recording });
  });
  server.on('error', (error: Error) => deps.log(`ssh server: ${error.message}`));

  return {
    type: TYPE,
    configSchema: sshConnectionType.schema,
    listenAddress: options.listenAddress,
    hostKey: options.hostKey,
    accept(stream: Duplex, origin: StreamOrigin) {
      origins.set(stream, origin);
      stream.on('error', (error: Error) => deps.log(`ssh stream: ${error.message}`));
      server.injectSocket(stream as never);
    },
    endSession: (sessionId, reason) => deps.live.end(sessionId, reason, TYPE),
    close: async () => {
      for (const client of clients) client.end();
    },
  };
}

interface ServeEnvironment {
  deps: SshAdapterDeps;
  targets: ReadonlyMap<string, SshTarget>;
  recording: SshRecordingOptions;
}

/** One client connection: authentication, then its session channels and forwards until it closes. */
function serveClient(client: Connection, info: ClientInfo, origin: StreamOrigin | undefined, env: ServeEnvironment) {
  const { deps } = env;
  let ctx: ConnectionContext | undefined;
  let release: (() => void) | undefined;
  let failures = 0;
  client.on('error', (error) => deps.log(`ssh client ${info.ip ?? 'tunnel'}: ${error.message}`));
  client.on('authentication', (auth) => {
    void authenticateClient(auth, {
      deps,
      targets: env.targets,
      tunnel: origin?.session,
      tunnelConnection: origin?.session ? origin.connection : undefined,
    }).then(
      (outcome: AuthOutcome | null) => {
        if (!outcome) {
          if (++failures >= MAX_AUTH_ATTEMPTS) client.end();
          return;
        }
        ctx ??= new ConnectionContext(deps, outcome.config, outcome.pin, outcome.session, env.recording);
        auth.accept();
      },
      (error: Error) => {
        deps.log(`ssh authentication failed: ${error.message}`);
        auth.reject();
      },
    );
  });
  client.on('ready', () => {
    if (!ctx) return client.end();
    const active = ctx;
    release = deps.live.add(active.session, TYPE, () => client.end());
    client.on('session', (accept) => handleSession(active, accept()));
    handleForwarding(active, client);
  });
  client.on('close', () => {
    release?.();
    ctx?.close();
  });
}

/** A configured SSH target with its parsed host key pin. */
export interface SshTarget {
  config: SshConnectionConfig;
  pin: HostKeyPin;
}

function sshTargets(connections: SshAdapterOptions['connections']): Map<string, SshTarget> {
  const list = Array.isArray(connections) ? connections : Object.values(connections);
  const targets = new Map<string, SshTarget>();
  for (const config of list as ConnectionConfig[]) {
    if (config.type !== TYPE) continue;
    targets.set(config.name, { config, pin: parseHostKeyPin(config.hostKey, config.name) });
  }
  return targets;
}
