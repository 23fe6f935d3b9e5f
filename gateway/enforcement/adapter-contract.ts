import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Recorder } from '../audit/recorder.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import type { Clock, SessionContext } from '../identity/session-context.ts';
import type { ContentMasker } from '../content/detectors.ts';
import type { GatewayMetrics } from '../server/metrics.ts';
import type { Store } from '../store/store.ts';
import type { SessionEndReason } from '../../wire/audit-events.ts';
import type { Enforcer } from './enforcer.ts';
import type { LiveSessions } from './live-sessions.ts';

/** How a client stream reached the gateway. */
export interface StreamOrigin {
  /** Set for tunnel streams, which the tunnel authenticated by their Bearer token (and grant). */
  session?: SessionContext;
  /** The connection a tunnel stream was opened for; the client must name the same one. */
  connection?: string;
  /** Loopback clients may send a cleartext secret without TLS. */
  loopback: boolean;
  /** The client's address on a native listener: unauthenticated connections are bounded per source. */
  remoteAddress?: string;
}

/** The sessions side an adapter needs: resolve a secret its client presents, and the one registry of live connections. */
export interface AdapterSessions {
  /** Resolves a session token (a password on a native listener) to its live session; null when unknown or ended. */
  authenticate(token: string): Promise<SessionContext | null>;
  live: LiveSessions;
}

/**
 * Everything an adapter is built from, assembled once by `startGateway`. An adapter imports no other
 * part of the gateway at run time: policy, approvals and audit mode reach it only through `enforce`.
 */
export interface AdapterDeps {
  config: GatehouseConfig;
  /** The one enforcement path: decide, hold, audit, count. */
  enforcer: Enforcer;
  /** For the adapter's own detail events beyond the command's (results, output); prefer `enforcer.record`, which honours the audit mode. */
  recorder: Pick<Recorder, 'record'>;
  /** Each connection's content detectors (the policy's `masking:` compiled per connection name). */
  contentMasker(connection: string): ContentMasker;
  sessions: AdapterSessions;
  metrics: GatewayMetrics;
  clock: Clock;
  /** Adapter state that must outlive a restart or cross replicas (the SSH host key, registered client keys). */
  store: Store;
  log(message: string): void;
}

/** An HTTP route an adapter adds to the control API; answers false when the request is not its own. */
export type AdapterRoute = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * A running protocol adapter: it accepts authenticated (or to-be-authenticated) client streams of
 * its connection type, translates its wire into actions for `enforce` and verdicts back into its wire.
 */
export interface ProtocolAdapter {
  /** The `type:` of the connections it serves. */
  readonly type: string;
  /** JSON Schema of one `connections:` entry of this type. */
  readonly configSchema: object;
  /** Takes one client stream: from a tunnel (`origin.session` set) or from its native listener. */
  accept(stream: Duplex, origin: StreamOrigin): void;
  /** Ends every live client connection of a session (through the shared registry), in its protocol's words. */
  endSession(sessionId: string, reason: SessionEndReason): void;
  /** Ends every client connection and releases what the adapter holds (metadata connections, servers). */
  close(): Promise<void>;
  /** The `host:port` of its native listener from gatehouse.yaml, when it has one and it is configured. */
  readonly listenAddress?: string;
  /** Control API routes it serves (SSH: client key registration). */
  readonly route?: AdapterRoute;
}

/** A protocol adapter before it is built: what `startGateway` is given, one per connection type. */
export interface AdapterFactory {
  readonly type: string;
  readonly configSchema: object;
  create(deps: AdapterDeps): ProtocolAdapter | Promise<ProtocolAdapter>;
}
