import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { createAppRoutes, routeHandler } from '../approvals/app-routes.ts';
import { createApprovalBroker, type ApprovalBroker } from '../approvals/broker.ts';
import { createHttpNotifier, silentNotifier } from '../approvals/notifier.ts';
import { APP_NOTIFY_PATH } from '../../wire/approvals.ts';
import type { KeyObject } from 'node:crypto';
import { setUpAuditSigningKey } from '../audit/audit-key-setup.ts';
import { configuredJournal } from '../audit/journal/configured-journal.ts';
import { createRecorder, type Recorder, type RecorderOptions, type RecorderReads } from '../audit/recorder.ts';
import { getSessionLog, type SessionLogOptions } from '../audit/session-log.ts';
import { createConfiguredSinks } from '../audit/sinks/configured-sinks.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import { createClientBundleRoute } from '../http/client-bundle-route.ts';
import { createHttpApp } from '../http/http-app.ts';
import { createTrustedIssuers } from '../identity/issuers.ts';
import { systemClock, type Clock } from '../identity/session-context.ts';
import { createSessionService, type SessionService } from '../identity/session-service.ts';
import { createPolicyEngine } from '../policy/engine.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import { createPostgresAdapter, type PostgresAdapter } from '../postgres/postgres-adapter.ts';
import { loadSqlParser } from '../sql/analyze-sql.ts';
import { createStore } from '../store/create-store.ts';
import type { Store } from '../store/store.ts';
import { GATEWAY_VERSION } from './version.ts';
import { createContentMaskers } from './content-maskers.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import { createPostgresWiring } from './postgres-wiring.ts';
import { createSshSide } from './ssh-wiring.ts';

/** A running gateway: its addresses and the parts tests and the demo reach into. */
export interface RunningGateway {
  httpUrl: string;
  postgresPort: number;
  /** Set when `listen.ssh` is configured. */
  sshPort?: number;
  store: Store;
  sessions: SessionService;
  broker: ApprovalBroker;
  recorder: Recorder;
  /** The public half of the audit signing key (pin it to verify this gateway's seals). */
  auditPublicKey: KeyObject;
  metrics: GatewayMetrics;
  postgres: PostgresAdapter;
  close(): Promise<void>;
}

/** Seams for tests, the demo and benchmarks; production runs with none of them set. */
export interface StartOptions {
  clock?: Clock;
  log?: (message: string) => void;
  /**
   * Builds the audit recorder (default {@link createRecorder}). A seam for benchmarks that
   * measure the data path without audit; not a config key, because a gateway must always audit.
   */
  createRecorder?: (options: RecorderOptions) => Recorder;
  /** The `gatehouse connect` bundle served to runners (default: the one built into `actions/dist/`). */
  clientBundlePath?: string | URL;
}

const BUILT_CLIENT_BUNDLE = new URL('../../actions/dist/gatehouse-connect.mjs', import.meta.url);

/**
 * Assembles and starts the gateway described by a loaded gatehouse.yaml: store, audit recorder,
 * policy engine, sessions, approvals broker, the HTTP control API with its tunnel, and the
 * native PostgreSQL listener. The only place where the parts meet.
 */
export async function startGateway(config: GatehouseConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const metrics = createMetrics();
  const store = await createStore(config.store);
  await loadSqlParser();
  const policy = loadPolicies(config.policiesDir);
  const engine = createPolicyEngine(policy);
  // Replicas behind a load balancer share listen addresses; the host name tells them apart, so a
  // restarting replica closes only the sessions and approvals it held itself.
  const gatewayId = `${os.hostname()}/${config.listen.http}#${config.listen.postgres}`;
  const sinks = createConfiguredSinks(config.audit);
  const auditKey = await setUpAuditSigningKey({ source: config.audit, store, gatewayId, log });
  const recorder = (options.createRecorder ?? createRecorder)({
    store,
    clock,
    sampleRows: config.audit.sampleRows,
    sinks,
    gatewayId,
    durability: config.audit.durability,
    journal: configuredJournal(config.audit),
    key: auditKey,
    log,
  });
  const reads: Recorder & Partial<RecorderReads> = recorder;
  const logReads: SessionLogOptions = { pending: reads.pending?.bind(reads), settled: reads.settled?.bind(reads) };
  const orphans = await recorder.closeOrphans('gateway-restart', { gatewayId });
  if (orphans.length > 0) log(`closed ${orphans.length} session(s) left open by a previous run (gateway-restart)`);

  const issuers = await createTrustedIssuers(config.issuers, { store, publicUrl: config.publicUrl });
  const sessions = createSessionService({
    store,
    policy,
    issuers,
    clock,
    config,
    log: (event, data) => log(`${event} ${JSON.stringify(data)}`),
  });
  if (config.app && !config.approvals.secret)
    log('app: not started: set approvals.secret, which the app and the gateway share to sign their messages');
  const embeddedApp = config.app && config.approvals.secret ? await startEmbeddedApp(config) : null;
  const notifyUrl =
    config.approvals.notifyUrl ??
    (embeddedApp ? `${config.publicUrl.replace(/\/+$/, '')}${APP_NOTIFY_PATH}` : undefined);
  const notifier =
    notifyUrl && config.approvals.secret
      ? createHttpNotifier({ url: notifyUrl, secret: config.approvals.secret, clock })
      : silentNotifier;
  const broker = createApprovalBroker({
    store,
    clock,
    notifier,
    publicUrl: config.publicUrl,
    ids: { approvalId: () => `apr_${randomUUID().replace(/-/g, '').slice(0, 16)}` },
    replicaId: gatewayId,
    onError: (e) => log(`approvals: ${(e as Error).message}`),
  });
  await broker.recoverPending();

  const contentMaskerFor = createContentMaskers(policy.masking);
  const postgresWiring = createPostgresWiring({
    config,
    engine,
    policy,
    recorder,
    broker,
    metrics,
    contentMaskerFor,
    log,
  });
  const postgres = createPostgresAdapter({
    config,
    authenticate: (token) => sessions.authenticate(token),
    createGate: (session, connection) => postgresWiring.createGate(session, connection),
    createFilter: (session, connection) => postgresWiring.createFilter(session, connection),
    metrics,
    log,
  });

  const ssh = await createSshSide({
    config,
    store,
    engine,
    sessions,
    recorder,
    broker,
    clock,
    metrics,
    contentMaskerFor,
    log,
  });

  sessions.onStarted((context, meta) => {
    recorder
      .sessionStarted(context.sessionId, {
        claims: { ...context.identity.claims },
        identity_rule: context.identity.identityRule,
        connections: context.connections,
        expires_at: context.expiresAt.toISOString(),
        gateway: gatewayId,
        issuer: meta.issuer,
        ip: meta.ip,
      })
      .catch((e: Error) => log(`audit: session start not recorded: ${e.message}`));
  });
  sessions.onEnded((sessionId, reason) => {
    postgres.endSession(
      sessionId,
      `gatehouse: session ${reason === 'expired' ? 'expired' : 'ended'}; start a new session to continue`,
    );
    ssh.gateway.endSession(sessionId);
    recorder.sessionEnded(sessionId, reason).catch((e: Error) => log(`audit: session end not recorded: ${e.message}`));
  });
  await sessions.restoreTimers();

  const appRoutes = routeHandler(
    createAppRoutes({
      broker,
      store,
      clock,
      secret: config.approvals.secret,
      publicUrl: config.publicUrl,
      getSessionLog: (id) => getSessionLog(store, id, logReads),
      closeSession: async (id, reason) => void (await sessions.revoke(id, reason)),
    }),
  );
  const clientBundle = createClientBundleRoute(options.clientBundlePath ?? BUILT_CLIENT_BUNDLE);
  const httpServer = createHttpApp({
    sessions,
    version: GATEWAY_VERSION,
    metrics: metrics.registry,
    getSessionLog: (id) => getSessionLog(store, id, logReads),
    onTunnel: (connection, stream, session) => routeTunnel(connection, stream, session),
    extraRoutes: async (req, res) =>
      clientBundle(req, res) ||
      (await ssh.keyRoute(req, res)) ||
      (await appRoutes(req, res)) ||
      (embeddedApp !== null && (await embeddedApp(req, res))),
    log: (event, data) => log(`${event} ${JSON.stringify(data)}`),
  });

  function routeTunnel(
    connection: string,
    stream: Duplex,
    session: Parameters<typeof postgres.handle>[1]['session'],
  ): void {
    const type = config.connections[connection]?.type;
    if (type === 'postgres') void postgres.handle(stream, { session, connection, loopback: false });
    else if (type === 'ssh' && session) ssh.gateway.acceptTunnelStream(stream, session, connection);
    else stream.destroy();
  }

  const pgServer = net.createServer((socket) => {
    socket.setNoDelay(true);
    void postgres.handle(socket, { loopback: isLoopback(socket.remoteAddress) });
  });
  const httpAddress = await listen(httpServer, config.listen.http);
  const pgAddress = await listen(pgServer, config.listen.postgres);
  const sshAddress = config.listen.ssh
    ? await listen(ssh.gateway.server as unknown as net.Server, config.listen.ssh)
    : undefined;

  return {
    httpUrl: `http://${httpAddress.host}:${httpAddress.port}`,
    postgresPort: pgAddress.port,
    sshPort: sshAddress?.port,
    store,
    sessions,
    broker,
    recorder,
    auditPublicKey: auditKey.publicKey,
    metrics,
    postgres,
    async close() {
      sessions.close();
      broker.close();
      httpServer.closeAllConnections?.();
      await Promise.all([closeServer(httpServer), closeServer(pgServer), ssh.gateway.close()]);
      await postgresWiring.close();
      await recorder.close();
      await store.close();
    },
  };
}

/** The GitHub App inside the gateway (`app:` configured): webhooks and approval requests on the HTTP listener. */
async function startEmbeddedApp(
  config: GatehouseConfig,
): Promise<(req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>> {
  const { createAppHandler } = await import('../../app/embedded.ts');
  const app = config.app!;
  const { handle } = await createAppHandler({
    appId: app.appId,
    privateKey: app.privateKey,
    webhookSecret: app.webhookSecret,
    baseUrl: app.baseUrl,
    gatewayUrl: config.publicUrl,
    approvalsSecret: config.approvals.secret!,
  });
  return handle;
}

function isLoopback(address: string | undefined): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::1' ||
    address === '::ffff:127.0.0.1' ||
    (address?.startsWith('127.') ?? false)
  );
}

async function listen(server: net.Server | http.Server, hostPort: string): Promise<{ host: string; port: number }> {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at) || '0.0.0.0';
  const port = Number(hostPort.slice(at + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { host, port: (server.address() as net.AddressInfo).port };
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
