import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { Store } from '../../../gateway/store/store.ts';
import {
  createApprovalBroker,
  type ApprovalBroker,
  type HoldRequest,
  type PendingApproval,
} from '../../../gateway/approvals/broker.ts';
import type { ApprovalNotifier } from '../../../gateway/approvals/notifier.ts';
import { hashStatement, randomApprovalId } from '../../../gateway/approvals/approval-record.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import type { ApprovalMessage } from '../../../wire/approvals.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';

let database: TestDatabase | undefined;
let location: string;
const stores: Store[] = [];
const brokers: ApprovalBroker[] = [];

async function openStore(): Promise<Store> {
  const store = await createStore(location);
  stores.push(store);
  return store;
}

function openBroker(
  store: Store,
  replicaId: string,
  messages: ApprovalMessage[] = [],
  pollIntervalMs = 100,
): ApprovalBroker {
  const notifier: ApprovalNotifier = { notify: async (m) => void messages.push(m) };
  const broker = createApprovalBroker({
    store,
    clock: systemClock,
    notifier,
    publicUrl: 'https://gw.example/',
    ids: { approvalId: randomApprovalId },
    replicaId,
    pollIntervalMs,
  });
  brokers.push(broker);
  return broker;
}

function request(overrides: { timeoutSeconds?: number; windowSeconds?: number; sessionId?: string } = {}): HoldRequest {
  const statement = "UPDATE accounts SET plan = 'pro' WHERE id = 42";
  return {
    session: {
      sessionId: overrides.sessionId ?? 'ses_1',
      identity: {
        sessionId: overrides.sessionId ?? 'ses_1',
        claims: {
          repository: 'acme/app',
          run_id: '1001',
          run_attempt: '1',
          sha: 'a'.repeat(40),
          actor: 'octo',
          actor_id: '5',
        },
      },
      connections: ['app-db'],
      expiresAt: new Date(Date.now() + 600_000),
    },
    connection: 'app-db',
    statement,
    statementHash: hashStatement(statement),
    decision: {
      action: 'review',
      rule: 'review-writes',
      reason: 'writes need a reviewer',
      review: {
        timeoutSeconds: overrides.timeoutSeconds ?? 30,
        minPermission: 'write',
        teams: [],
        approvals: 1,
        ...(overrides.windowSeconds ? { windowSeconds: overrides.windowSeconds } : {}),
      },
    },
  };
}

function pendingOf(): { seen: Promise<PendingApproval>; onPending: (p: PendingApproval) => void } {
  let onPending!: (p: PendingApproval) => void;
  const seen = new Promise<PendingApproval>((resolve) => (onPending = resolve));
  return { seen, onPending };
}

beforeAll(async () => {
  if (usingRealServer()) {
    database = await createTestDatabase('SELECT 1');
    location = database.url;
  } else {
    location = 'memory://';
  }
});

afterEach(async () => {
  for (const broker of brokers.splice(0)) broker.close();
  for (const store of stores.splice(0)) await store.close();
});

afterAll(async () => {
  await database?.drop();
});

describe('approval broker', () => {
  it('stores the request, tells the client where to approve and notifies the app', async () => {
    const store = await openStore();
    const messages: ApprovalMessage[] = [];
    const broker = openBroker(store, 'r1', messages);
    const { seen, onPending } = pendingOf();
    const held = broker.hold(request(), { onPending });
    const pending = await seen;
    expect(pending.approveCommand).toBe(`/gatehouse approve ${pending.id}`);
    expect(pending.approveUrl).toBe(`https://gw.example/v1/approvals/${pending.id}`);
    const stored = await store.getApproval(pending.id);
    expect(stored).toMatchObject({
      status: 'pending',
      connection: 'app-db',
      rule: 'review-writes',
      sessionId: 'ses_1',
    });
    expect(messages[0]).toMatchObject({
      type: 'approval.requested',
      id: pending.id,
      binding: { repository: 'acme/app', runId: '1001', runAttempt: '1', actorId: '5' },
      policy: { minPermission: 'write', approvals: 1 },
    });
    await broker.decide(pending.id, { approved: false, by: ['reviewer'], reason: 'not now' });
    await expect(held).resolves.toMatchObject({ outcome: 'denied', decidedBy: ['reviewer'], reason: 'not now' });
  });

  it('times out to a denial when nobody answers within the rule timeout', async () => {
    const store = await openStore();
    const messages: ApprovalMessage[] = [];
    const broker = openBroker(store, 'r1', messages);
    const { seen, onPending } = pendingOf();
    const result = await broker.hold(request({ timeoutSeconds: 0.3 }), { onPending });
    expect(result.outcome).toBe('timed-out');
    const { id } = await seen;
    expect((await store.getApproval(id))?.status).toBe('timed-out');
    expect(messages.some((m) => m.type === 'approval.resolved' && m.status === 'timed-out')).toBe(true);
  });

  it('cancels the request when the client aborts while held', async () => {
    const store = await openStore();
    const broker = openBroker(store, 'r1');
    const controller = new AbortController();
    const { seen, onPending } = pendingOf();
    const held = broker.hold(request(), { onPending, signal: controller.signal });
    const { id } = await seen;
    controller.abort();
    await expect(held).resolves.toMatchObject({ outcome: 'cancelled', approvalId: id });
    expect((await store.getApproval(id))?.status).toBe('cancelled');
  });

  it('wakes the holding replica when another replica records the decision through the store', async () => {
    const broker1 = openBroker(await openStore(), 'r1', [], 60_000);
    const broker2 = openBroker(usingRealServer() ? await openStore() : stores[0]!, 'r2', [], 60_000);
    const { seen, onPending } = pendingOf();
    const held = broker1.hold(request(), { onPending });
    const { id } = await seen;
    const started = Date.now();
    expect(await broker2.decide(id, { approved: true, by: ['alice'] })).toEqual({ ok: true, status: 'approved' });
    await expect(held).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['alice'] });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses a decision bound to another statement or run', async () => {
    const broker = openBroker(await openStore(), 'r1');
    const { seen, onPending } = pendingOf();
    const held = broker.hold(request(), { onPending });
    const { id } = await seen;
    const wrong = await broker.decide(id, {
      approved: true,
      by: ['alice'],
      expect: {
        statementHash: hashStatement('DELETE FROM accounts'),
        sha: 'a'.repeat(40),
        runId: '1001',
        runAttempt: '1',
      },
    });
    expect(wrong).toMatchObject({ ok: false, code: 'binding-mismatch' });
    const otherAttempt = await broker.decide(id, {
      approved: true,
      by: ['alice'],
      expect: { statementHash: request().statementHash, sha: 'a'.repeat(40), runId: '1001', runAttempt: '2' },
    });
    expect(otherAttempt).toMatchObject({ ok: false, code: 'binding-mismatch' });
    const right = await broker.decide(id, {
      approved: true,
      by: ['alice'],
      expect: { statementHash: request().statementHash, sha: 'a'.repeat(40), runId: '1001', runAttempt: '1' },
    });
    expect(right).toEqual({ ok: true, status: 'approved' });
    await expect(held).resolves.toMatchObject({ outcome: 'approved' });
    expect(await broker.decide(id, { approved: false, by: ['bob'] })).toMatchObject({ ok: false, code: 'not-pending' });
  });

  it('keeps a pending request across a restart of another replica and still honours its decision', async () => {
    const holder = openBroker(await openStore(), 'r1');
    const { seen, onPending } = pendingOf();
    const held = holder.hold(request(), { onPending });
    const { id } = await seen;
    const restarted = openBroker(usingRealServer() ? await openStore() : stores[0]!, 'r2');
    expect(await restarted.recoverPending()).toMatchObject({ rearmed: 1, abandoned: 0 });
    await restarted.decide(id, { approved: true, by: ['alice'] });
    await expect(held).resolves.toMatchObject({ outcome: 'approved', approvalId: id });
  });

  it('marks the requests of a restarted replica abandoned, since their clients are gone', async () => {
    const store = await openStore();
    const crashed = openBroker(store, 'r1');
    const { seen, onPending } = pendingOf();
    const held = crashed.hold(request(), { onPending });
    const { id } = await seen;
    crashed.close();
    await expect(held).resolves.toMatchObject({ outcome: 'cancelled' });
    expect((await store.getApproval(id))?.status).toBe('pending');
    const messages: ApprovalMessage[] = [];
    const restarted = openBroker(store, 'r1', messages);
    expect(await restarted.recoverPending()).toMatchObject({ abandoned: 1 });
    expect((await store.getApproval(id))?.status).toBe('abandoned');
    expect(messages).toContainEqual(expect.objectContaining({ type: 'approval.resolved', id, status: 'abandoned' }));
  });

  it('times out a recovered request whose time ran out while no replica was watching', async () => {
    const store = await openStore();
    const crashed = openBroker(store, 'r1');
    const { seen, onPending } = pendingOf();
    void crashed.hold(request({ timeoutSeconds: 0.2 }), { onPending });
    const { id } = await seen;
    crashed.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const other = openBroker(store, 'r2');
    expect(await other.recoverPending()).toMatchObject({ timedOut: 1 });
    expect((await store.getApproval(id))?.status).toBe('timed-out');
  });

  it('opens a window after an approval so the same rule passes for the rest of the session', async () => {
    const store = await openStore();
    const broker = openBroker(store, 'r1');
    const { seen, onPending } = pendingOf();
    const first = broker.hold(request({ windowSeconds: 60, sessionId: 'ses_w' }), { onPending });
    const { id } = await seen;
    expect(broker.isWindowOpen('ses_w', 'review-writes')).toBe(false);
    await broker.decide(id, { approved: true, by: ['alice'] });
    await expect(first).resolves.toMatchObject({ outcome: 'approved' });
    expect(broker.isWindowOpen('ses_w', 'review-writes')).toBe(true);
    expect(broker.isWindowOpen('ses_other', 'review-writes')).toBe(false);
    const second = await broker.hold(request({ windowSeconds: 60, sessionId: 'ses_w' }), {
      onPending: () => {
        throw new Error('a window must not ask again');
      },
    });
    expect(second).toMatchObject({ outcome: 'approved', approvalId: id, decidedBy: ['alice'] });
  });

  it('records the request and the decision in the session audit log', async () => {
    const store = await openStore();
    const recorder = createRecorder({ store });
    const sessionId = `ses_audit_${Date.now()}`;
    await recorder.sessionStarted(sessionId, { claims: { repository: 'acme/app' } });
    const broker = createApprovalBroker({
      store,
      clock: systemClock,
      notifier: { notify: async () => undefined },
      publicUrl: 'https://gw.example',
      ids: { approvalId: randomApprovalId },
      audit: recorder,
    });
    brokers.push(broker);
    const { seen, onPending } = pendingOf();
    const held = broker.hold(request({ sessionId }), { onPending });
    const { id } = await seen;
    await broker.decide(id, { approved: true, by: ['alice'] });
    await held;
    await recorder.flush();
    const events = await store.listAuditEvents(sessionId);
    expect(events.map((e) => e.type)).toEqual(['session.start', 'approval.requested', 'approval.decided']);
    expect(events[2]!.data).toMatchObject({ approval_id: id, status: 'approved', decided_by: ['alice'] });
    await recorder.close();
  });

  it('keeps a request with a timeout longer than a Node timer can hold pending', async () => {
    const broker = openBroker(await openStore(), 'r1');
    const { seen, onPending } = pendingOf();
    const held = broker.hold(request({ timeoutSeconds: 30 * 24 * 3600 }), { onPending });
    const { id } = await seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await stores[0]!.getApproval(id))?.status).toBe('pending');
    await broker.decide(id, { approved: false, by: ['alice'] });
    await expect(held).resolves.toMatchObject({ outcome: 'denied' });
  });

  it('cancels a request whose client went away while it was being stored', async () => {
    const store = await openStore();
    const broker = openBroker(store, 'r1');
    const controller = new AbortController();
    let id = '';
    const held = broker.hold(request(), { onPending: (p) => (id = p.id), signal: controller.signal });
    controller.abort();
    await expect(held).resolves.toMatchObject({ outcome: 'cancelled' });
    expect(id).not.toBe('');
    expect((await store.getApproval(id))?.status).toBe('cancelled');
  });

  it('denies a review decision that carries no review settings', async () => {
    const broker = openBroker(await openStore(), 'r1');
    const bare = { ...request(), decision: { action: 'review' as const, rule: 'r', reason: 'x' } };
    await expect(broker.hold(bare)).resolves.toMatchObject({ outcome: 'denied', approvalId: null });
  });
});
