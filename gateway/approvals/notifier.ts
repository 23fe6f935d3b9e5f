import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Clock } from '../identity/session-context.ts';
import { signMessage, type ApprovalMessage } from '../../wire/approvals.ts';

/**
 * How the broker tells the GitHub App about approvals. An interface, so the gateway can run
 * without an app (the CLI `gatehouse approve` still works) and tests can watch the messages.
 */
export interface ApprovalNotifier {
  notify(message: ApprovalMessage): Promise<void>;
}

/** For gateways without `approvals.notify_url`: approvals are answered with `gatehouse approve`. */
export const silentNotifier: ApprovalNotifier = { notify: async () => undefined };

/** Where approval messages go and the shared secret that signs them, so the app can trust they came from this gateway. */
export interface HttpNotifierOptions {
  url: string;
  secret: string;
  clock: Clock;
  fetch?: typeof globalThis.fetch;
  /** Total tries, the first included. */
  attempts?: number;
  /** First retry delay; doubles on each retry. */
  baseDelayMs?: number;
  timeoutMs?: number;
}

/** POSTs each message as signed JSON to the app, retrying network errors, 429 and 5xx with backoff. */
export function createHttpNotifier(options: HttpNotifierOptions): ApprovalNotifier {
  const { url, secret, clock } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    async notify(message) {
      const body = JSON.stringify(message);
      let last = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const response = await fetchImpl(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...signMessage(secret, body, clock.now()) },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          await response.arrayBuffer().catch(() => undefined);
          if (response.ok) return;
          last = `HTTP ${response.status}`;
          if (response.status < 500 && response.status !== 429) break;
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
        }
        if (attempt < attempts) await delay(baseDelayMs * 2 ** (attempt - 1));
      }
      throw new GatehouseError(
        'approvals.notify-failed',
        `could not deliver approval ${message.id} to the app at ${url} (${last}); check approvals.notify_url and approvals.secret, or answer with 'gatehouse approve ${message.id}'`,
      );
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
