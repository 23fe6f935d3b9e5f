import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSink, webhookSignature } from '../../../../gateway/audit/sinks/webhook-sink.ts';
import type { AuditEventWire } from '../../../../wire/audit-events.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

function event(seq: number): AuditEventWire {
  return {
    session_id: 's1',
    seq,
    type: 'statement',
    at: '2026-03-01T12:00:00.000Z',
    data: { text: `SELECT ${seq}` },
    prev_hash: 'p',
    hash: `h${seq}`,
  };
}

describe('webhook sink', () => {
  let server: Server;
  let url: string;
  const received: Received[] = [];
  let failuresLeft = 0;
  let status = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end();
        } else {
          res.writeHead(status).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/siem`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts batches signed with HMAC-SHA256 over timestamp.body', async () => {
    received.length = 0;
    const sink = createWebhookSink({ url, secret: 's3cret', batchSize: 10 });
    sink.write(event(1));
    sink.write(event(2));
    await sink.close();
    expect(received).toHaveLength(1);
    const [request] = received;
    const timestamp = String(request!.headers['x-gatehouse-timestamp']);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(request!.headers['x-gatehouse-signature']).toBe(webhookSignature('s3cret', timestamp, request!.body));
    expect(request!.headers['x-gatehouse-signature']).not.toBe(webhookSignature('other', timestamp, request!.body));
    expect((JSON.parse(request!.body) as { events: AuditEventWire[] }).events.map((e) => e.seq)).toEqual([1, 2]);
    expect(sink.stats()).toMatchObject({ delivered: 2, failed: 0 });
  });

  it('retries server errors with backoff until the receiver accepts', async () => {
    received.length = 0;
    failuresLeft = 2;
    const sink = createWebhookSink({ url, secret: 's', baseDelayMs: 5 });
    sink.write(event(1));
    await expect.poll(() => sink.stats().delivered, { timeout: 5_000 }).toBe(1);
    expect(received).toHaveLength(3);
    expect(sink.stats().failed).toBe(0);
    await sink.close();
  });

  it('gives up on a permanent client error without retrying and counts the events as failed', async () => {
    received.length = 0;
    status = 400;
    try {
      const sink = createWebhookSink({ url, secret: 's', baseDelayMs: 5 });
      sink.write(event(1));
      await expect.poll(() => sink.stats().failed, { timeout: 5_000 }).toBe(1);
      expect(received).toHaveLength(1);
      await sink.close();
    } finally {
      status = 200;
    }
  });

  it('never blocks the writer and drops the oldest events when the receiver is unreachable', async () => {
    const sink = createWebhookSink({
      url: 'http://127.0.0.1:1/unreachable',
      secret: 's',
      maxQueue: 5,
      batchSize: 1,
      baseDelayMs: 1_000,
      closeTimeoutMs: 200,
    });
    const started = performance.now();
    for (let seq = 1; seq <= 50; seq++) sink.write(event(seq));
    expect(performance.now() - started).toBeLessThan(100);
    const stats = sink.stats();
    expect(stats.queued).toBeLessThanOrEqual(5);
    expect(stats.dropped).toBeGreaterThanOrEqual(44);
    await sink.close();
  });
});
