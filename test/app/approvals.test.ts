import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadGitHubSpec } from '../support/fake-github/openapi-operations.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../support/pg-target.ts';
import type { HoldResult, PendingApproval } from '../../gateway/approvals/broker.ts';
import { APP_NOTIFY_PATH, signMessage } from '../../wire/approvals.ts';
import {
  APPROVALS_SECRET,
  PULL,
  SHA,
  WEBHOOK_SECRET,
  commentPayload,
  holdRequest,
  payload,
  startHarness,
  startHarnessBase,
  waitFor,
  type Harness,
  type HarnessBase,
} from './harness.ts';

let base: HarnessBase;
let database: TestDatabase | undefined;
let location = 'memory://';
let h: Harness;

beforeAll(async () => {
  if (usingRealServer()) {
    database = await createTestDatabase('SELECT 1');
    location = database.url;
  }
  base = await startHarnessBase(loadGitHubSpec(), location);
});
afterAll(async () => {
  await base?.store.close();
  await database?.drop();
});
beforeEach(async () => {
  h = await startHarness(base);
});
afterEach(async () => {
  await h.close();
});

/** Holds a statement and waits until the app has posted its check run and PR comment. */
async function held(
  review: Parameters<typeof holdRequest>[0] = {},
): Promise<{ id: string; result: Promise<HoldResult>; abort: () => void }> {
  const controller = new AbortController();
  let pending: PendingApproval | undefined;
  const result = h.broker.hold(holdRequest(review), { onPending: (p) => (pending = p), signal: controller.signal });
  await waitFor(
    () =>
      pending !== undefined &&
      [...h.fake.model.checkRuns.values()].some((c) => c.external_id === pending!.id) &&
      h.fake.model.comments.length > 0,
    'the approval request on GitHub',
  );
  return { id: pending!.id, result, abort: () => controller.abort() };
}

async function comment(
  body: string,
  user: { id: number; login: string },
  action: 'created' | 'edited' = 'created',
): Promise<void> {
  await h.probot.receive({
    id: `d-${Math.random()}`,
    name: 'issue_comment',
    payload: commentPayload(action, body, user),
  } as any);
}

const lastComment = (): string => h.fake.model.comments.at(-1)?.body ?? '';

describe('approval requests on GitHub', () => {
  it('posts a check run with Approve and Deny buttons on the job commit and a comment on the pull request', async () => {
    const { id, abort } = await held();
    const check = [...h.fake.model.checkRuns.values()].find((c) => c.external_id === id)!;
    expect(check).toMatchObject({ head_sha: SHA, status: 'in_progress' });
    expect(check.actions.map((a: { identifier: string }) => a.identifier)).toEqual(['approve', 'deny']);
    const posted = h.fake.model.comments[0]!;
    expect(posted.issueNumber).toBe(PULL);
    expect(posted.body).toContain("UPDATE accounts SET plan = 'pro' WHERE id = 42");
    expect(posted.body).toContain(`/gatehouse approve ${id}`);
    expect(posted.body).toContain('review-writes');
    expect(posted.body).toContain('octo-actor');
    expect(h.fake.problems).toEqual([]);
    abort();
  });

  it('refuses an approval request whose signature does not match', async () => {
    const body = JSON.stringify({ type: 'approval.requested', id: 'apr_forged' });
    const headers = signMessage('another-secret', body, new Date());
    const response = await fetch(`${h.appUrl}${APP_NOTIFY_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(response.status).toBe(401);
    expect(h.fake.calls).toEqual([]);
  });
});

describe('answering by comment', () => {
  it('runs the held statement after a collaborator with write access approves', async () => {
    const { id, result } = await held();
    await comment(`Looks right.\n/gatehouse approve ${id}`, h.cast.alice);
    await expect(result).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['alice'] });
    expect(lastComment()).toContain('Approved by @alice');
    const check = [...h.fake.model.checkRuns.values()].find((c) => c.external_id === id)!;
    expect(check).toMatchObject({ status: 'completed', conclusion: 'success', actions: [] });
    expect((await h.store.getApproval(id))?.status).toBe('approved');
    expect(h.fake.problems).toEqual([]);
  });

  it("refuses the workflow's actor even with admin permission", async () => {
    const { id, abort } = await held();
    await comment(`/gatehouse approve ${id}`, h.cast.actor);
    expect(lastComment()).toContain('@octo-actor started this run or opened this pull request and cannot approve');
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    abort();
  });

  it("refuses the pull request's author", async () => {
    const { id, abort } = await held();
    await comment(`/gatehouse approve ${id}`, h.cast.author);
    expect(lastComment()).toContain('cannot approve');
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    abort();
  });

  it('refuses the triggering actor of a re-run, compared by user id', async () => {
    h.fake.model.runs.set(1001, { actor: h.cast.actor, triggeringActor: { id: h.cast.bob.id, login: 'renamed-bob' } });
    const { id, abort } = await held();
    await comment(`/gatehouse approve ${id}`, h.cast.bob);
    expect(lastComment()).toContain('@bob started this run');
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    abort();
  });

  it('refuses a user with read permission', async () => {
    const { id, abort } = await held();
    await comment(`/gatehouse approve ${id}`, h.cast.rita);
    expect(lastComment()).toContain('@rita has read permission on acme/app; this rule needs write');
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    abort();
  });

  it('refuses an answer from a repository that only shares the name of the job repository', async () => {
    const { id, abort } = await held();
    const event = commentPayload('created', `/gatehouse approve ${id}`, h.cast.alice);
    event.repository.id = 999_999;
    await h.probot.receive({ id: 'other-repo', name: 'issue_comment', payload: event } as any);
    expect(lastComment()).toContain('belongs to another repository');
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    abort();
  });

  it('ignores an edited comment', async () => {
    const { id, abort } = await held();
    const before = h.fake.calls.length;
    await comment(`/gatehouse approve ${id}`, h.cast.alice, 'edited');
    expect(h.fake.calls.length).toBe(before);
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    abort();
  });

  it('needs two distinct approvers when the rule asks for two', async () => {
    const { id, result } = await held({ approvals: 2 });
    await comment(`/gatehouse approve ${id}`, h.cast.alice);
    expect(lastComment()).toContain('(1 of 2)');
    await comment(`/gatehouse approve ${id}`, h.cast.alice);
    expect(lastComment()).toContain('(1 of 2)');
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    await comment(`/gatehouse approve ${id}`, h.cast.bob);
    await expect(result).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['alice', 'bob'] });
    expect(h.fake.problems).toEqual([]);
  });

  it('accepts a member of a listed team found on a later page of the member list', async () => {
    h.fake.model.teams.set('acme/dba', [...Array.from({ length: 120 }, (_, i) => 50_000 + i), h.cast.carol.id]);
    const { id, result } = await held({ teams: ['acme/dba'] });
    await comment(`/gatehouse approve ${id}`, h.cast.carol);
    await expect(result).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['carol'] });
    expect(h.fake.calls.filter((c) => c.operationId === 'teams/list-members-in-org').length).toBe(2);
    expect(h.fake.problems).toEqual([]);
  });

  it('denies with the reason given in the comment', async () => {
    const { id, result } = await held();
    await comment(`/gatehouse deny ${id} not during the freeze`, h.cast.alice);
    await expect(result).resolves.toMatchObject({
      outcome: 'denied',
      decidedBy: ['alice'],
      reason: 'not during the freeze',
    });
    expect(lastComment()).toContain('Denied by @alice: not during the freeze');
    const check = [...h.fake.model.checkRuns.values()].find((c) => c.external_id === id)!;
    expect(check.conclusion).toBe('failure');
  });

  it('answers a request the app forgot in a restart, rebuilding it from the gateway', async () => {
    const { id, result } = await held();
    h.state.delete(id);
    await comment(`/gatehouse approve ${id}`, h.cast.actor);
    expect(lastComment()).toContain('cannot approve');
    await comment(`/gatehouse approve ${id}`, h.cast.alice);
    await expect(result).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['alice'] });
    const check = [...h.fake.model.checkRuns.values()].find((c) => c.external_id === id)!;
    expect(check).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(h.fake.problems).toEqual([]);
  });

  it('shows a decision made with gatehouse approve on the check run and the pull request', async () => {
    const { id, result } = await held();
    await h.broker.decide(id, { approved: true, by: ['cli:ops'] });
    await expect(result).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['cli:ops'] });
    await waitFor(
      () => [...h.fake.model.checkRuns.values()].some((c) => c.external_id === id && c.conclusion === 'success'),
      'the check run to complete',
    );
    expect(lastComment()).toContain(`Approval \`${id}\` is approved by cli:ops`);
    await comment(`/gatehouse approve ${id}`, h.cast.alice);
    expect(lastComment()).toContain('is already approved');
  });

  it('marks the check run timed out when nobody answers in time', async () => {
    const { id, result } = await held({ timeoutSeconds: 0.5 });
    await expect(result).resolves.toMatchObject({ outcome: 'timed-out' });
    await waitFor(
      () => [...h.fake.model.checkRuns.values()].some((c) => c.external_id === id && c.conclusion === 'timed_out'),
      'the check run to time out',
    );
    expect(h.fake.problems).toEqual([]);
  });
});

describe('answering with the check run buttons', () => {
  it('approves through the requested action of a reviewer', async () => {
    const { id, result } = await held();
    const checkRunId = [...h.fake.model.checkRuns.entries()].find(([, c]) => c.external_id === id)![0];
    const event = payload('check_run.requested_action', (p) => {
      p.check_run = { ...p.check_run, id: checkRunId, external_id: id, head_sha: SHA };
      p.requested_action = { identifier: 'approve' };
      p.sender = { ...p.sender, id: h.cast.alice.id, login: 'alice' };
    });
    await h.probot.receive({ id: 'button-1', name: 'check_run', payload: event } as any);
    await expect(result).resolves.toMatchObject({ outcome: 'approved', decidedBy: ['alice'] });
    expect(h.fake.problems).toEqual([]);
  });
});

describe('webhook delivery', () => {
  async function deliver(body: string, secret: string): Promise<number> {
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const response = await fetch(`${h.appUrl}/api/github/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issue_comment',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': signature,
      },
      body,
    });
    await response.text();
    return response.status;
  }

  it('rejects a webhook with a wrong signature and acts on a correctly signed one', async () => {
    const { id, result } = await held();
    const body = JSON.stringify(commentPayload('created', `/gatehouse approve ${id}`, h.cast.alice));
    const forged = await deliver(body, 'not-the-webhook-secret');
    expect(forged).toBeGreaterThanOrEqual(400);
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    expect(await deliver(body, WEBHOOK_SECRET)).toBe(200);
    await expect(result).resolves.toMatchObject({ outcome: 'approved' });
  });
});

describe('decisions sent to the gateway', () => {
  it('are refused when forged, stale or replayed', async () => {
    const { id, result } = await held();
    const approval = await h.store.getApproval(id);
    const decision = {
      id,
      approved: true,
      by: ['alice'],
      statementHash: approval!.statementHash,
      sha: SHA,
      runId: '1001',
      runAttempt: '1',
      nonce: 'n'.repeat(32),
    };
    const body = JSON.stringify(decision);
    const send = async (headers: Record<string, string>): Promise<{ status: number; body: any }> => {
      const response = await fetch(`${h.gatewayUrl}/v1/approvals/${id}/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      return { status: response.status, body: await response.json() };
    };
    expect((await send(signMessage('wrong', body, new Date()))).status).toBe(401);
    expect((await send(signMessage(APPROVALS_SECRET, body, new Date(Date.now() - 3_600_000)))).status).toBe(401);
    expect((await h.store.getApproval(id))?.status).toBe('pending');
    expect(await send(signMessage(APPROVALS_SECRET, body, new Date()))).toMatchObject({
      status: 200,
      body: { status: 'approved' },
    });
    await expect(result).resolves.toMatchObject({ outcome: 'approved' });
    expect(await send(signMessage(APPROVALS_SECRET, body, new Date()))).toMatchObject({
      status: 409,
      body: { error: 'approvals.replayed' },
    });
  });
});
