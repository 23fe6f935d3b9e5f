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

/** What one sink's delivery loop shares: resolved options, counters and the wake-up of a pending backoff. */
interface WebhookDelivery {
  url: string;
  secret: string;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  doFetch: typeof fetch;
  now: () => number;
  counters: { delivered: number; failed: number };
  state: { closing: boolean; wake: (() => void) | null };
}

/** A backoff pause that `close()` can cut short through `state.wake`. */
function interruptibleSleep(delivery: WebhookDelivery, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      delivery.state.wake = null;
      resolve();
    }
    delivery.state.wake = done;
  });
}

/** One signed POST: 'delivered', 'retry' (5xx, 408, 429, network error) or 'rejected'. */
async function postSignedBatch(delivery: WebhookDelivery, body: string): Promise<'delivered' | 'retry' | 'rejected'> {
  const timestamp = String(Math.floor(delivery.now() / 1000));
  try {
    const response = await delivery.doFetch(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_HEADERS.timestamp]: timestamp,
        [WEBHOOK_HEADERS.signature]: webhookSignature(delivery.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(delivery.timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return 'delivered';
    return response.status >= 500 || response.status === 408 || response.status === 429 ? 'retry' : 'rejected';
  } catch {
    return 'retry';
  }
}

/** Delivers one batch with exponential, jittered backoff, counting it delivered or failed. */
async function sendBatch(delivery: WebhookDelivery, batch: AuditEventWire[]): Promise<void> {
  const body = JSON.stringify({ events: batch });
  for (let attempt = 1; attempt <= delivery.maxAttempts; attempt++) {
    const outcome = await postSignedBatch(delivery, body);
    if (outcome === 'delivered') {
      delivery.counters.delivered += batch.length;
      return;
    }
    const retry = outcome === 'retry';
    if (!retry || delivery.state.closing || attempt === delivery.maxAttempts) break;
    const backoff = Math.min(delivery.maxDelayMs, delivery.baseDelayMs * 2 ** (attempt - 1));
    await interruptibleSleep(delivery, backoff * (0.5 + Math.random() / 2));
  }
  delivery.counters.failed += batch.length;
}

/** Fills in the option defaults. */
function resolveDelivery(options: WebhookSinkOptions): WebhookDelivery {
  return {
    url: options.url,
    secret: options.secret,
    maxAttempts: options.maxAttempts ?? 5,
    baseDelayMs: options.baseDelayMs ?? 250,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 5_000,
    doFetch: options.fetch ?? fetch,
    now: options.now ?? Date.now,
    counters: { delivered: 0, failed: 0 },
    state: { closing: false, wake: null },
  };
}

/**
 * POSTs batches `{"events": [...]}` to a SIEM endpoint, signed so the receiver can reject forgeries
 * and (with the timestamp) replays. Retries 5xx, 408, 429 and network errors with exponential
 * backoff; the queue is bounded and drops the oldest events, counting them.
 */
export function createWebhookSink(options: WebhookSinkOptions): AuditSink {
  const queue = new BoundedQueue<AuditEventWire>(options.maxQueue ?? 10_000);
  const batchSize = options.batchSize ?? 100;
  const delivery = resolveDelivery(options);
  const { counters, state } = delivery;
  let worker: Promise<void> | null = null;

  async function drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (queue.length > 0) await sendBatch(delivery, queue.take(batchSize));
  }

  function kick(): void {
    worker ??= drain().finally(() => {
      worker = null;
      if (queue.length > 0 && !state.closing) kick();
    });
  }

  return {
    name: `webhook:${new URL(options.url).host}`,
    write(event) {
      queue.push(event);
      if (!state.closing) kick();
    },
    stats(): SinkStats {
      return { queued: queue.length, dropped: queue.dropped, ...counters };
    },
    async close() {
      state.closing = true;
      state.wake?.();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, options.closeTimeoutMs ?? 2_000).unref());
      kick();
      await Promise.race([worker ?? Promise.resolve(), deadline]);
    },
  };
}
