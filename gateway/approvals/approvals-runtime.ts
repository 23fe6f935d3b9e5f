import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatehouseConfig } from '../config/config-types.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from '../identity/session-context.ts';
import { createApprovalBroker, type ApprovalAudit, type ApprovalBroker } from './broker.ts';
import { createHttpNotifier, silentNotifier } from './notifier.ts';
import { createAppRoutes, routeHandler } from './app-routes.ts';
import { randomApprovalId } from './approval-record.ts';
import { APP_NOTIFY_PATH, type SessionLog } from '../../wire/approvals.ts';

/** What `gatehouse serve` needs to offer approvals: the broker for the adapters, routes for the HTTP app. */
export interface ApprovalsRuntime {
  broker: ApprovalBroker;
  /** Mount as the HTTP app's `extraRoutes`: the app ↔ gateway routes, and the GitHub App when `app:` is configured. */
  extraRoutes: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Whether the GitHub App runs inside this gateway. */
  appEmbedded: boolean;
  close(): void;
}

export interface ApprovalsRuntimeOptions {
  config: GatehouseConfig;
  store: Store;
  clock: Clock;
  replicaId?: string;
  audit?: ApprovalAudit;
  getSessionLog?: (sessionId: string) => Promise<SessionLog | null>;
  closeSession?: (sessionId: string, reason: string) => Promise<void>;
  onError?: (error: unknown) => void;
  /** Log level of the embedded app's Probot logger. */
  appLogLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
}

/**
 * Builds the approvals part of a gateway from its config. With `app:` credentials the GitHub App
 * runs in-process and, unless `approvals.notify_url` says otherwise, the broker notifies it at
 * this gateway's own `public_url`. Call `broker.recoverPending()` once the gateway listens.
 */
export async function createApprovalsRuntime(options: ApprovalsRuntimeOptions): Promise<ApprovalsRuntime> {
  const { config, store, clock } = options;
  const publicUrl = config.publicUrl.replace(/\/+$/, '');
  const secret = config.approvals.secret;
  const notifyUrl = config.approvals.notifyUrl ?? (config.app && secret ? `${publicUrl}${APP_NOTIFY_PATH}` : undefined);
  const notifier = notifyUrl && secret ? createHttpNotifier({ url: notifyUrl, secret, clock }) : silentNotifier;
  const broker = createApprovalBroker({
    store, clock, notifier, publicUrl, ids: { approvalId: randomApprovalId },
    replicaId: options.replicaId, audit: options.audit, onError: options.onError,
  });
  const gatewayRoutes = routeHandler(createAppRoutes({
    broker, store, clock, secret, publicUrl, getSessionLog: options.getSessionLog, closeSession: options.closeSession,
  }));
  let appHandle: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | null = null;
  if (config.app && secret) {
    const { createAppHandler } = await import('../../app/embedded.ts');
    appHandle = (await createAppHandler({
      appId: config.app.appId, privateKey: config.app.privateKey, webhookSecret: config.app.webhookSecret,
      baseUrl: config.app.baseUrl, gatewayUrl: publicUrl, approvalsSecret: secret, logLevel: options.appLogLevel,
    })).handle;
  }
  return {
    broker,
    appEmbedded: appHandle !== null,
    extraRoutes: async (req, res) => (await gatewayRoutes(req, res)) || (appHandle !== null && (await appHandle(req, res))),
    close: () => broker.close(),
  };
}
