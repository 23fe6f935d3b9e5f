import type { IncomingMessage, ServerResponse } from 'node:http';
import { Probot, createNodeMiddleware } from 'probot';
import { createGatehouseApp } from './gatehouse-app.ts';

/** Where GitHub delivers webhooks; the URL to give when creating the app from `app/app.yml`. */
export const WEBHOOK_PATH = '/api/github/webhooks';

/** Everything needed to run the app: its GitHub credentials and the gateway it serves. */
export interface EmbeddedAppOptions {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  /** GitHub API URL, for GitHub Enterprise Server. */
  baseUrl?: string;
  gatewayUrl: string;
  /** The gateway's `approvals.secret`. */
  approvalsSecret: string;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
}

/**
 * The app as one Node handler (webhooks at {@link WEBHOOK_PATH}, the gateway's approval messages
 * at `/gatehouse/approvals`), answering false for other paths, so `gatehouse serve` can mount it
 * next to the gateway's own routes and `gatehouse app` can serve it alone.
 */
export async function createAppHandler(
  options: EmbeddedAppOptions,
): Promise<{ probot: Probot; handle: (req: IncomingMessage, res: ServerResponse) => Promise<boolean> }> {
  const probot = new Probot({
    appId: options.appId,
    privateKey: options.privateKey,
    secret: options.webhookSecret,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    logLevel: options.logLevel ?? 'info',
  });
  const middleware = await createNodeMiddleware(
    createGatehouseApp({ gatewayUrl: options.gatewayUrl, secret: options.approvalsSecret }),
    { probot, webhooksPath: WEBHOOK_PATH },
  );
  return { probot, handle: async (req, res) => (await middleware(req, res, () => undefined)) === true };
}
