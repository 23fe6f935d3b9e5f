import { randomUUID, type KeyObject } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import { createAppRoutes, routeHandler } from '../approvals/app-routes.ts';
import { createApprovalBroker, type ApprovalBroker } from '../approvals/broker.ts';
import { createHttpNotifier, silentNotifier } from '../approvals/notifier.ts';
import { APP_NOTIFY_PATH } from '../../wire/approvals.ts';
import { openConfiguredAudit } from '../audit/configured-audit.ts';
import type { Recorder, RecorderOptions } from '../audit/recorder.ts';
import { getSessionLog, waitForFinalHash, waitForSealedLog, type SessionLogOptions } from '../audit/session-log.ts';
import type { AuditSigningKey } from '../audit/signing-key.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import type { AdapterDeps, AdapterFactory, ProtocolAdapter } from '../enforcement/adapter-contract.ts';
import { createEnforcer } from '../enforcement/enforcer.ts';
import { createLiveSessions, type LiveSessions } from '../enforcement/live-sessions.ts';
import { createClientBundleRoute } from '../http/client-bundle-route.ts';
import { createHttpApp } from '../http/http-app.ts';
import { publishOperatorApi } from '../operator/operator-publish.ts';
import { createOperatorRoutes } from '../operator/operator-routes.ts';
import { createTrustedIssuers } from '../identity/issuers.ts';
import { systemClock, type Clock, type SessionContext } from '../identity/session-context.ts';
import { createSessionService, type SessionService } from '../identity/session-service.ts';
import { createPolicyEngine, type PolicyEngine } from '../policy/engine.ts';
import { assertEnforceable } from '../policy/lint-policy.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import type { Policy } from '../policy/policy-types.ts';
import { loadSqlParser } from '../sql/analyze-sql.ts';
import { createStore } from '../store/create-store.ts';
import type { Store } from '../store/store.ts';
import { builtinAdapters } from './builtin-adapters.ts';
import { createContentMaskers } from './content-maskers.ts';
import { bindListeners, type BoundListeners } from './listeners.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import { GATEWAY_VERSION } from './version.ts';

/** A running gateway: its addresses and the parts tests and the demo reach into. */
export interface RunningGateway {
  httpUrl: string;
  postgresPort: number;
  /** Set when `listen.ssh` is configured. */
  sshPort?: number;
  /** The port of each adapter's native listener, by connection type. */
  ports: Record<string, number>;
  store: Store;
  sessions: SessionService;
  broker: ApprovalBroker;
  recorder: Recorder;
  /** The public half of the audit signing key (pin it to verify this gateway's seals). */
  auditPublicKey: KeyObject;
  metrics: GatewayMetrics;
  adapters: readonly ProtocolAdapter[];
  live: LiveSessions;
  close(): Promise<void>;
}

/** Seams for tests, the demo and benchmarks; production runs with none of them set. */
export interface StartOptions {
  clock?: Clock;
  log?: (message: string) => void;
  /**
   * Builds the audit recorder (default `createRecorder` of `audit/recorder.ts`). A seam for benchmarks that
   * measure the data path without audit; not a config key, because a gateway must always audit.
   */
  createRecorder?: (options: RecorderOptions) => Recorder;
  /** Builds the policy engine (default {@link createPolicyEngine}); tests use it to make the engine fail. */
  createEngine?: (policy: Policy) => PolicyEngine;
  /** The protocol adapters (default {@link builtinAdapters}). */
  adapters?: (policy: Policy) => AdapterFactory[];
  /** The `gatehouse connect` bundle served to runners (default: the one built into `actions/dist/`). */
  clientBundlePath?: string | URL;
  /** How often sessions in use are polled for an end on another replica and expired ones swept (tests shorten them). */
  sessionEnds?: { pollMs?: number; sweepMs?: number };
}

/** How long `DELETE /v1/sessions/:id` and the app's log read wait for every replica's chain of an ended session to be sealed. */
const FINAL_HASH_WAIT_MS = 3000;

/** A CLI command that opened the embedded store just before the gateway started gets this long to finish. */
const STORE_LOCK_WAIT_MS = 30_000;

const BUILT_CLIENT_BUNDLE = new URL('../../actions/dist/gatehouse-connect.mjs', import.meta.url);

interface Env {
  config: GatehouseConfig;
  options: StartOptions;
  clock: Clock;
  log: (message: string) => void;
  /** Replicas behind a load balancer share listen addresses; the host name tells them apart. */
  gatewayId: string;
}

/**
 * Assembles and starts the gateway described by a loaded gatehouse.yaml: store, audit recorder,
 * policy engine, sessions, approvals broker, the enforcement core, every protocol adapter, the
 * HTTP control API with its tunnel, and the adapters' native listeners. The only place where the
 * parts meet.
 */
export async function startGateway(config: GatehouseConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const env: Env = {
    config,
    options,
    clock: options.clock ?? systemClock,
    log: options.log ?? ((message: string) => process.stderr.write(`${message}\n`)),
    gatewayId: `${os.hostname()}/${config.listen.http}#${config.listen.postgres}`,
  };
  // Listen first: a gateway that cannot serve must change nothing in the store it shares.
  const listeners = await bindListeners(config.listen);
  try {
    return await assemble(env, listeners);
  } catch (error) {
    await listeners.close();
    throw error;
  }
}

async function assemble(env: Env, listeners: BoundListeners): Promise<RunningGateway> {
  const { config, options } = env;
  const metrics = createMetrics();
  const { store, policy, recorder, auditKey, logReads } = await openRecords(env);
  const sessions = await openSessions(env, store, policy);
  const { broker, embeddedApp } = await openApprovals(env, store, recorder);
  const live = createLiveSessions(env.clock);
  const engine = (options.createEngine ?? createPolicyEngine)(policy);
  const enforcer = createEnforcer({ engine, broker, recorder, metrics, log: env.log, clock: env.clock });
  const deps: AdapterDeps = {
    config,
    enforcer,
    recorder,
    contentMasker: createContentMaskers(policy.masking),
    sessions: { authenticate: (token) => sessions.authenticate(token), live },
    metrics,
    clock: env.clock,
    store,
    log: env.log,
  };
  const adapters: ProtocolAdapter[] = [];
  for (const factory of (options.adapters ?? builtinAdapters)(policy)) adapters.push(await factory.create(deps));
  watchSessions(env, sessions, recorder, adapters, live);
  await sessions.watchEnds();
  const operator = publishOperatorApi(config, env.log);
  const httpServer = controlApi(env, {
    sessions,
    store,
    broker,
    metrics,
    live,
    adapters,
    embeddedApp,
    logReads,
    operatorToken: operator.token,
  });
  listeners.serve(httpServer, adapters);
  const unpublish = operator.publish(listeners.httpUrl);
  return {
    httpUrl: listeners.httpUrl,
    postgresPort: listeners.ports.postgres!,
    sshPort: listeners.ports.ssh,
    ports: listeners.ports,
    store,
    sessions,
    broker,
    recorder,
    auditPublicKey: auditKey.publicKey,
    metrics,
    adapters,
    live,
    async close() {
      unpublish();
      sessions.close();
      broker.close();
      httpServer.closeAllConnections?.();
      await Promise.all([listeners.close(), ...adapters.map((adapter) => adapter.close())]);
      live.close();
      await recorder.close();
      await store.close();
    },
  };
}

interface Records {
  store: Store;
  policy: Policy;
  recorder: Recorder;
  auditKey: AuditSigningKey;
  /** What log reads merge in from the recorder's journal (events not yet in the store). */
  logReads: SessionLogOptions;
}

/**
 * Store, policy, the audit key and the recorder with its journal; what a previous run left in the
 * journal is shipped and the sessions it left open are closed first.
 */
async function openRecords(env: Env): Promise<Records> {
  const { config } = env;
  const store = await createStore(config.store, { lockWaitMs: STORE_LOCK_WAIT_MS });
  await loadSqlParser();
  const policy = loadPolicies(config.policiesDir);
  assertEnforceable(policy, Object.keys(config.connections));
  const audit = await openConfiguredAudit({ ...env, store, build: env.options.createRecorder });
  return { store, policy, recorder: audit.recorder, auditKey: audit.key, logReads: audit.logReads };
}

async function openSessions(env: Env, store: Store, policy: Policy): Promise<SessionService> {
  const issuers = await createTrustedIssuers(env.config.issuers, { store, publicUrl: env.config.publicUrl });
  return createSessionService({
    store,
    policy,
    issuers,
    clock: env.clock,
    config: env.config,
    log: (event, data) => env.log(`${event} ${JSON.stringify(data)}`),
    ends: env.options.sessionEnds,
  });
}

type EmbeddedApp = ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>) | null;

/** The approvals broker (its events go to each session's audit log) and the embedded GitHub App, if configured. */
async function openApprovals(
  env: Env,
  store: Store,
  recorder: Recorder,
): Promise<{ broker: ApprovalBroker; embeddedApp: EmbeddedApp }> {
  const { config, clock, log } = env;
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
    replicaId: env.gatewayId,
    onError: (e) => log(`approvals: ${(e as Error).message}`),
    audit: recorder,
    appNotified: notifier !== silentNotifier,
  });
  await broker.recoverPending();
  return { broker, embeddedApp };
}

/** Session start and end go to the audit log; an ended session's live connections are closed by every adapter. */
function watchSessions(
  env: Env,
  sessions: SessionService,
  recorder: Recorder,
  adapters: readonly ProtocolAdapter[],
  live: LiveSessions,
): void {
  const { log } = env;
  sessions.onStarted((context, meta) => {
    recorder
      .sessionStarted(context.sessionId, {
        claims: { ...context.identity.claims },
        identity_rule: context.identity.identityRule,
        connections: context.connections,
        expires_at: context.expiresAt.toISOString(),
        gateway: env.gatewayId,
        issuer: meta.issuer,
        ip: meta.ip,
      })
      .catch((e: Error) => log(`audit: session start not recorded: ${e.message}`));
  });
  sessions.onEnded((sessionId, reason) => {
    for (const adapter of adapters) adapter.endSession(sessionId, reason);
    live.end(sessionId, reason);
    recorder.sessionEnded(sessionId, reason).catch((e: Error) => log(`audit: session end not recorded: ${e.message}`));
  });
}

interface ControlApiParts {
  sessions: SessionService;
  store: Store;
  broker: ApprovalBroker;
  metrics: GatewayMetrics;
  live: LiveSessions;
  adapters: readonly ProtocolAdapter[];
  embeddedApp: EmbeddedApp;
  logReads: SessionLogOptions;
  operatorToken: string;
}

/** The HTTP control API; a tunnel stream goes to the adapter of its connection's type. */
function controlApi(env: Env, parts: ControlApiParts): http.Server {
  const { config } = env;
  const { sessions, store } = parts;
  const appRoutes = routeHandler(
    createAppRoutes({
      broker: parts.broker,
      store,
      clock: env.clock,
      secret: config.approvals.secret,
      publicUrl: config.publicUrl,
      getSessionLog: (id) => waitForSealedLog(store, id, { ...parts.logReads, timeoutMs: FINAL_HASH_WAIT_MS }),
      closeSession: async (id, reason) => void (await sessions.revoke(id, reason)),
    }),
  );
  const operatorRoutes = routeHandler(
    createOperatorRoutes({
      token: parts.operatorToken,
      broker: parts.broker,
      store,
      clock: env.clock,
      config,
      getSessionLog: (id) => getSessionLog(store, id, parts.logReads),
    }),
  );
  const clientBundle = createClientBundleRoute(env.options.clientBundlePath ?? BUILT_CLIENT_BUNDLE);
  const byType = new Map(parts.adapters.map((adapter) => [adapter.type, adapter]));
  const routeTunnel = (connection: string, stream: Duplex, session: SessionContext): void => {
    const adapter = byType.get(config.connections[connection]?.type ?? '');
    if (adapter) adapter.accept(stream, { session, connection, loopback: false });
    else stream.destroy();
  };
  return createHttpApp({
    sessions,
    live: parts.live,
    clock: env.clock,
    version: GATEWAY_VERSION,
    metrics: parts.metrics.registry,
    getSessionLog: (id) => getSessionLog(store, id, parts.logReads),
    finalHash: (id) => waitForFinalHash(store, id, { ...parts.logReads, timeoutMs: FINAL_HASH_WAIT_MS }),
    onTunnel: routeTunnel,
    extraRoutes: async (req, res) => {
      if (clientBundle(req, res) || (await operatorRoutes(req, res))) return true;
      for (const adapter of parts.adapters) if (adapter.route && (await adapter.route(req, res))) return true;
      return (await appRoutes(req, res)) || (parts.embeddedApp !== null && (await parts.embeddedApp(req, res)));
    },
    log: (event, data) => env.log(`${event} ${JSON.stringify(data)}`),
  });
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
