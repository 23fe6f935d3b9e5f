import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpNotifier } from '../../../gateway/approvals/notifier.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { APPROVAL_HEADERS, verifyMessage, type ApprovalMessage } from '../../../wire/approvals.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An app endpoint answering with the given statuses in turn, keeping what it received. */
async function endpoint(
  statuses: number[],
): Promise<{ url: string; received: { body: string; headers: http.IncomingHttpHeaders }[] }> {
  const received: { body: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)]!).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/gatehouse/approvals`, received };
}

const message: ApprovalMessage = {
  type: 'approval.resolved',
  id: 'apr_1',
  status: 'timed-out',
  decidedBy: [],
  reason: 'approval timed out',
};

describe('approval notifier', () => {
  it('signs the body with the shared secret and a timestamp', async () => {
    const app = await endpoint([202]);
    await createHttpNotifier({ url: app.url, secret: 's3cret', clock: systemClock }).notify(message);
    const [{ body, headers }] = app.received as [{ body: string; headers: http.IncomingHttpHeaders }];
    expect(JSON.parse(body)).toEqual(message);
    const check = verifyMessage(
      's3cret',
      body,
      {
        timestamp: headers[APPROVAL_HEADERS.timestamp] as string,
        signature: headers[APPROVAL_HEADERS.signature] as string,
      },
      new Date(),
    );
    expect(check).toEqual({ ok: true });
    expect(
      verifyMessage(
        'other',
        body,
        {
          timestamp: headers[APPROVAL_HEADERS.timestamp] as string,
          signature: headers[APPROVAL_HEADERS.signature] as string,
        },
        new Date(),
      ).ok,
    ).toBe(false);
  });

  it('retries server errors with backoff until the app accepts', async () => {
    const app = await endpoint([503, 502, 202]);
    await createHttpNotifier({ url: app.url, secret: 's', clock: systemClock, baseDelayMs: 10 }).notify(message);
    expect(app.received).toHaveLength(3);
  });

  it('gives up on a client error and names the way out', async () => {
    const app = await endpoint([401]);
    const sending = createHttpNotifier({ url: app.url, secret: 's', clock: systemClock, baseDelayMs: 10 }).notify(
      message,
    );
    await expect(sending).rejects.toMatchObject({
      code: 'approvals.notify-failed',
      message: expect.stringContaining('gatehouse approve apr_1'),
    });
    expect(app.received).toHaveLength(1);
  });
});
