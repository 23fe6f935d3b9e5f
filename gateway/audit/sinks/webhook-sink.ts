import { createHmac } from 'node:crypto';
import type { AuditEventWire } from '../../../wire/audit-events.ts';
import { BoundedQueue, type AuditSink, type SinkStats } from './audit-sink.ts';

/** Where and how the webhook sink delivers batches; retry and timeout bounds keep a slow receiver off the data path. */
export interface WebhookSinkOptions {
  url: string;
  /** Shared HMAC secret; the receiver recomputes the signature to authenticate the batch. */
  secret: string;
  maxQueue?: number;
  batchSize?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /** How long `close()` keeps delivering before giving up on what is left. */
  closeTimeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Headers of each delivered batch; a receiver needs them to check the HMAC signature and refuse replays. */
export const WEBHOOK_HEADERS = {
  signature: 'X-Gatehouse-Signature',
  timestamp: 'X-Gatehouse-Timestamp',
} as const;

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, timestamp in Unix seconds. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * POSTs batches `{"events": [...]}` to a SIEM endpoint, signed so the receiver can reject forgeries
 * and (with the timestamp) replays. Retries 5xx, 408, 429 and network errors with exponential
 * backoff; the queue is bounded and drops the oldest events, counting them.
 */
export function createWebhookSink(options: WebhookSinkOptions): AuditSink {
  const queue = new BoundedQueue<AuditEventWire>(options.maxQueue ?? 10_000);
  const batchSize = options.batchSize ?? 100;
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const counters = { delivered: 0, failed: 0 };
  let worker: Promise<void> | null = null;
  let closing = false;
  let wake: (() => void) | null = null;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  async function send(batch: AuditEventWire[]): Promise<void> {
    const body = JSON.stringify({ events: batch });
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const timestamp = String(Math.floor(now() / 1000));
      let retry: boolean;
      try {
        const response = await doFetch(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [WEBHOOK_HEADERS.timestamp]: timestamp,
            [WEBHOOK_HEADERS.signature]: webhookSignature(options.secret, timestamp, body),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          counters.delivered += batch.length;
          return;
        }
        retry = response.status >= 500 || response.status === 408 || response.status === 429;
      } catch {
        retry = true;
      }
      if (!retry || closing || attempt === maxAttempts) break;
      await sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
    }
    counters.failed += batch.length;
  }

  async function drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (queue.length > 0) await send(queue.take(batchSize));
  }

  function kick(): void {
    worker ??= drain().finally(() => {
      worker = null;
      if (queue.length > 0 && !closing) kick();
    });
  }

  return {
    name: `webhook:${new URL(options.url).host}`,
    write(event) {
      queue.push(event);
      if (!closing) kick();
    },
    stats(): SinkStats {
      return { queued: queue.length, dropped: queue.dropped, ...counters };
    },
    async close() {
      closing = true;
      wake?.();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, options.closeTimeoutMs ?? 2_000).unref());
      kick();
      await Promise.race([worker ?? Promise.resolve(), deadline]);
    },
  };
}
