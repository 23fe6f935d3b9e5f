import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { Store } from '../../../gateway/store/store.ts';
import { createApprovalBroker, type ApprovalBroker } from '../../../gateway/approvals/broker.ts';
import { createAppRoutes, routeHandler } from '../../../gateway/approvals/app-routes.ts';
import { hashStatement, randomApprovalId } from '../../../gateway/approvals/approval-record.ts';
import { silentNotifier } from '../../../gateway/approvals/notifier.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { signMessage } from '../../../wire/approvals.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';

const SECRET = 'routes-secret';
let database: TestDatabase | undefined;
let store: Store;
let broker: ApprovalBroker;
let server: http.Server;
let base: string;
let approvalId: string;

beforeAll(async () => {
  if (usingRealServer()) database = await createTestDatabase('SELECT 1');
  store = await createStore(database?.url ?? 'memory://');
  broker = createApprovalBroker({
    store,
    clock: systemClock,
    notifier: silentNotifier,
    publicUrl: 'http://gw',
    ids: { approvalId: randomApprovalId },
  });
  const handle = routeHandler(
    createAppRoutes({
      broker,
      store,
      clock: systemClock,
      secret: SECRET,
      publicUrl: 'http://gw',
      getSessionLog: async (id) => ({
        session_id: id,
        status: 'ended',
        end_reason: 'disconnect',
        started_at: null,
        ended_at: null,
        sealed: true,
        events: [],
      }),
    }),
  );
  server = http.createServer(
    (req, res) =>
      void handle(req, res).then((done) => {
        if (!done) res.writeHead(404).end();
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const statement = 'DELETE FROM carts';
  void broker.hold(
    {
      session: {
        sessionId: 'ses_r',
        identity: {
          sessionId: 'ses_r',
          claims: { repository: 'acme/app', run_id: '9', run_attempt: '1', sha: 'b'.repeat(40) },
        },
        connections: ['app-db'],
        expiresAt: new Date(Date.now() + 60_000),
      },
      connection: 'app-db',
      statement,
      statementHash: hashStatement(statement),
      decision: {
        action: 'review',
        rule: 'review-deletes',
        reason: 'deletes need review',
        review: { timeoutSeconds: 60, minPermission: 'write', teams: [], approvals: 1 },
      },
    },
    { onPending: (p) => (approvalId = p.id) },
  );
  while (!approvalId) await new Promise((resolve) => setTimeout(resolve, 10));
});

afterAll(async () => {
  broker.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  await database?.drop();
});

function signedGet(path: string): Promise<Response> {
  return fetch(`${base}${path}`, { headers: signMessage(SECRET, `GET ${path}`, new Date()) });
}

function signedPost(path: string, payload: object): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signMessage(SECRET, body, new Date()) },
    body,
  });
}

describe('gateway routes for the app', () => {
  it('shows an approval without its statement to anyone, and in full to the signed app', async () => {
    const open = await (await fetch(`${base}/v1/approvals/${approvalId}`)).json();
    expect(open).toMatchObject({ id: approvalId, status: 'pending', rule: 'review-deletes' });
    expect(open.statement).toBeUndefined();
    const full = await (await signedGet(`/v1/approvals/${approvalId}`)).json();
    expect(full).toMatchObject({
      statement: 'DELETE FROM carts',
      binding: { repository: 'acme/app', runId: '9' },
      policy: { minPermission: 'write' },
    });
  });

  it('answers 404 for an unknown approval and 400 for a decision whose id differs from the path', async () => {
    expect((await fetch(`${base}/v1/approvals/apr_nope`)).status).toBe(404);
    const mismatch = await signedPost(`/v1/approvals/${approvalId}/decision`, {
      id: 'apr_other',
      approved: true,
      by: ['a'],
      statementHash: 'x',
      sha: 'x',
      runId: '9',
      runAttempt: '1',
      nonce: randomBytes(16).toString('hex'),
    });
    expect(mismatch.status).toBe(400);
  });

  it('answers a JSON 400, not a server error, for an approval id that is not valid percent-encoding', async () => {
    const response = await fetch(`${base}/v1/approvals/%E0%A4%A`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'request.url' });
  });

  it('refuses a decision without a nonce', async () => {
    const response = await signedPost(`/v1/approvals/${approvalId}/decision`, {
      id: approvalId,
      approved: true,
      by: ['a'],
      statementHash: hashStatement('DELETE FROM carts'),
      sha: 'b'.repeat(40),
      runId: '9',
      runAttempt: '1',
    });
    expect(response.status).toBe(400);
    expect((await store.getApproval(approvalId))?.status).toBe('pending');
  });

  it('serves a session log only to the signed app', async () => {
    expect((await fetch(`${base}/v1/sessions/ses_r/log`)).status).toBe(401);
    const log = await signedGet('/v1/sessions/ses_r/log');
    expect(log.status).toBe(200);
    expect(await log.json()).toMatchObject({ session_id: 'ses_r', sealed: true });
  });

  it("closes only the completed job's sessions when sessions carry a check run id", async () => {
    const make = async (id: string, checkRunId: string): Promise<void> =>
      store.createSession({
        id,
        tokenHash: randomBytes(32).toString('hex'),
        identityRule: 'r',
        claims: { repository: 'acme/app', run_id: '77', run_attempt: '2', check_run_id: checkRunId },
        connections: ['app-db'],
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
        endedAt: null,
        endReason: null,
        sshKeys: [],
      });
    await make('ses_job_a', '100');
    await make('ses_job_b', '200');
    const response = await signedPost('/v1/app/jobs/close', {
      repository: 'acme/app',
      runId: '77',
      runAttempt: '2',
      jobId: '100',
      nonce: randomBytes(16).toString('hex'),
    });
    expect(await response.json()).toEqual({
      sessions: [{ id: 'ses_job_a', connections: ['app-db'], logUrl: 'http://gw/v1/sessions/ses_job_a/log' }],
    });
    expect((await store.getSession('ses_job_a'))?.endedAt).not.toBeNull();
    expect((await store.getSession('ses_job_b'))?.endedAt).toBeNull();
  });
});
