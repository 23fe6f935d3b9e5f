// Approval latency: from the approving webhook reaching the app until the held statement is released.
// Paths: signed webhook → Probot → reviewer permission check (fake GitHub over HTTP, validated against
// GitHub's OpenAPI description) → signed decision to the gateway → store → the holding broker, and
// the same through the real gateway until the held UPDATE's result reaches the PostgreSQL client.
// Runnable alone: node --import tsx bench/approval-latency.ts
import { createHmac } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createStore } from '../gateway/store/create-store.ts';
import { createApprovalBroker, type ApprovalBroker } from '../gateway/approvals/broker.ts';
import { randomApprovalId } from '../gateway/approvals/approval-record.ts';
import { createHttpNotifier } from '../gateway/approvals/notifier.ts';
import { APP_NOTIFY_PATH } from '../wire/approvals.ts';
import { systemClock } from '../gateway/identity/session-context.ts';
import type { Store } from '../gateway/store/store.ts';
import { loadGitHubSpec } from '../test/support/fake-github/openapi-operations.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../test/support/pg-target.ts';
import {
  APPROVALS_SECRET,
  WEBHOOK_SECRET,
  commentPayload,
  holdRequest,
  startHarness,
  startHarnessBase,
  waitFor,
  type Harness,
} from '../test/app/harness.ts';
import { startGatewayTestbed } from '../test/app/gateway-testbed.ts';
import { renderTable, type BenchRow } from './bench-table.ts';

export const APPROVAL_LATENCY_GOAL_MS = 100;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function deliver(h: Harness, body: string): Promise<Response> {
  return deliverTo(h.appUrl, body);
}

function deliverTo(appUrl: string, body: string): Promise<Response> {
  return fetch(`${appUrl}/api/github/webhooks`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': `bench-${Math.random()}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
    },
  });
}

/** One sample: hold on `holder`, wait until the request is on GitHub, then time the approving webhook. */
async function sample(h: Harness, holder: ApprovalBroker): Promise<number> {
  let id = '';
  const result = holder.hold(holdRequest(), { onPending: (p) => (id = p.id) });
  await waitFor(() => id !== '' && h.state.get(id) !== undefined, 'the approval request on GitHub', 10_000);
  const body = JSON.stringify(commentPayload('created', `/gatehouse approve ${id}`, h.cast.alice));
  const started = performance.now();
  const response = deliver(h, body);
  const { outcome } = await result;
  const elapsed = performance.now() - started;
  await (await response).text();
  if (outcome !== 'approved') throw new Error(`expected the statement to be approved, got ${outcome}`);
  return elapsed;
}

/** The whole path: the approving webhook until the held UPDATE's result reaches the PostgreSQL client. */
async function benchThroughGateway(samples: number): Promise<BenchRow> {
  const bed = await startGatewayTestbed(loadGitHubSpec());
  try {
    const { token } = await bed.session();
    const times: number[] = [];
    for (let i = 0; i < samples + 3; i++) {
      const { id, result, client } = await bed.held(token, `UPDATE accounts SET plan = 'pro' WHERE id = ${i + 1}`);
      const body = JSON.stringify(commentPayload('created', `/gatehouse approve ${id}`, bed.github.cast.alice));
      const started = performance.now();
      const response = deliverTo(bed.github.appUrl, body);
      const { rowCount } = await result;
      const elapsed = performance.now() - started;
      await (await response).text();
      await client.end();
      if (rowCount !== 1) throw new Error(`expected the UPDATE to change one row, got ${rowCount}`);
      if (i >= 3) times.push(elapsed);
    }
    return {
      benchmark: 'approval: webhook → held UPDATE result at the client (real gateway)',
      gateway: `p50 ${percentile(times, 0.5).toFixed(1)} ms, p95 ${percentile(times, 0.95).toFixed(1)} ms`,
      goal: `p50 ≤ ${APPROVAL_LATENCY_GOAL_MS} ms`,
    };
  } finally {
    await bed.close();
  }
}

export async function benchApprovalLatency(samples = Number(process.env.BENCH_APPROVALS ?? 25)): Promise<BenchRow[]> {
  const database: TestDatabase | undefined = usingRealServer()
    ? await createTestDatabase('SELECT 1').catch(() => undefined)
    : undefined;
  const location = database?.url ?? 'memory://';
  const base = await startHarnessBase(loadGitHubSpec(), location);
  const h = await startHarness(base);
  let replica: { store: Store; broker: ApprovalBroker } | undefined;
  try {
    for (let i = 0; i < 3; i++) await sample(h, h.broker);
    const same: number[] = [];
    for (let i = 0; i < samples; i++) same.push(await sample(h, h.broker));
    const rows: BenchRow[] = [
      {
        benchmark: 'approval: webhook → held statement released (same replica)',
        gateway: `p50 ${percentile(same, 0.5).toFixed(1)} ms, p95 ${percentile(same, 0.95).toFixed(1)} ms`,
        goal: `p50 ≤ ${APPROVAL_LATENCY_GOAL_MS} ms`,
      },
    ];
    if (database) {
      const store = await createStore(location);
      const notifier = createHttpNotifier({
        url: `${h.appUrl}${APP_NOTIFY_PATH}`,
        secret: APPROVALS_SECRET,
        clock: systemClock,
      });
      replica = {
        store,
        broker: createApprovalBroker({
          store,
          clock: systemClock,
          notifier,
          publicUrl: h.gatewayUrl,
          ids: { approvalId: randomApprovalId },
          replicaId: 'bench-holder',
        }),
      };
      const cross: number[] = [];
      for (let i = 0; i < samples; i++) cross.push(await sample(h, replica.broker));
      rows.push({
        benchmark: 'approval: webhook → held statement released (other replica, LISTEN/NOTIFY)',
        gateway: `p50 ${percentile(cross, 0.5).toFixed(1)} ms, p95 ${percentile(cross, 0.95).toFixed(1)} ms`,
        goal: `p50 ≤ ${APPROVAL_LATENCY_GOAL_MS} ms`,
      });
    }
    rows.push(await benchThroughGateway(samples));
    return rows;
  } finally {
    replica?.broker.close();
    await replica?.store.close();
    await h.close();
    await base.store.close();
    await database?.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${renderTable(await benchApprovalLatency())}\n`);
  process.exit(0);
}
