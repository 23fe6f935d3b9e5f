import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadGitHubSpec } from '../support/fake-github/openapi-operations.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../support/pg-target.ts';
import type { AuditEventRecord } from '../../gateway/store/store.ts';
import { CHECK_OUTPUT_LIMIT } from '../../app/render.ts';
import { createRecorder } from '../../gateway/audit/recorder.ts';
import { generateAuditSigningKey } from '../../gateway/audit/signing-key.ts';
import { verifySession } from '../../gateway/audit/verify-session.ts';
import { RUN_ID, SHA, payload, startHarness, startHarnessBase, type Harness, type HarnessBase } from './harness.ts';

let base: HarnessBase;
let database: TestDatabase | undefined;
let location = 'memory://';
let h: Harness;
/** Each test has its own run, since the store is shared by the file's tests. */
let run = RUN_ID;

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
  run += 1;
  h = await startHarness(base);
});
afterEach(async () => {
  await h.close();
});

/** A stored, open session of the current run (no audit events yet). */
async function openSession(runId = String(run)): Promise<string> {
  const id = `ses_${randomBytes(6).toString('hex')}`;
  const now = new Date();
  await h.store.createSession({
    id,
    tokenHash: randomBytes(32).toString('hex'),
    identityRule: 'main-deploys',
    claims: { repository: 'acme/app', run_id: runId, run_attempt: '1', sha: SHA, actor: 'octo-actor' },
    connections: ['app-db'],
    createdAt: now,
    expiresAt: new Date(now.getTime() + 600_000),
    endedAt: null,
    endReason: null,
    sshKeys: [],
  });
  return id;
}

/** A session of run 1001 with the given statements recorded as audit events. */
async function sessionWith(
  statements: { text: string; decision: 'allow' | 'deny' }[],
  runId = String(run),
): Promise<string> {
  const id = await openSession(runId);
  const now = new Date();
  const events: AuditEventRecord[] = [
    {
      sessionId: id,
      seq: 1,
      type: 'session.start',
      at: now,
      data: { claims: {}, identity_rule: 'main-deploys' },
      prevHash: '0'.repeat(64),
      hash: 'h0',
    },
  ];
  statements.forEach((s, i) => {
    events.push({
      sessionId: id,
      seq: events.length + 1,
      type: 'statement',
      at: now,
      data: {
        connection: 'app-db',
        text: s.text,
        decision: s.decision,
        rule: s.decision === 'deny' ? 'no-drop' : 'default',
      },
      prevHash: `h${i}`,
      hash: `s${i}`,
    });
  });
  await h.store.appendAuditEvents(events);
  return id;
}

async function jobCompleted(runId = run): Promise<void> {
  const event = payload('workflow_job.completed', (p) => {
    p.workflow_job = { ...p.workflow_job, id: 555, run_id: runId, run_attempt: 1, head_sha: SHA };
  });
  await h.probot.receive({ id: 'job-1', name: 'workflow_job', payload: event } as any);
}

describe('audit check runs when a job completes', () => {
  it('closes the job sessions and posts one failing check run with the masked log when a statement was denied', async () => {
    const id = await sessionWith([
      { text: "SELECT email FROM customers WHERE id = '***'", decision: 'allow' },
      { text: 'DROP TABLE customers', decision: 'deny' },
    ]);
    await jobCompleted();
    const checks = [...h.fake.model.checkRuns.values()];
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({
      name: 'gatehouse / app-db',
      head_sha: SHA,
      status: 'completed',
      conclusion: 'failure',
      external_id: id,
    });
    expect(checks[0]!.details_url).toBe(`${h.gatewayUrl}/v1/sessions/${id}/log`);
    expect(checks[0]!.output.summary).toContain('| 2 | 1 | 1 |');
    expect(checks[0]!.output.text).toContain('DROP TABLE customers');
    expect(checks[0]!.output.text).toContain("WHERE id = '***'");
    const session = await h.store.getSession(id);
    expect(session?.endedAt).not.toBeNull();
    expect(session?.endReason).toBe('disconnect');
    expect(h.fake.problems).toEqual([]);
  });

  it('succeeds when nothing was denied and truncates a long log with a link to the full log', async () => {
    const long = Array.from({ length: 1500 }, (_, i) => ({
      text: `SELECT * FROM orders WHERE id = ${i} /* ${'x'.repeat(40)} */`,
      decision: 'allow' as const,
    }));
    const id = await sessionWith(long);
    await jobCompleted();
    const [check] = [...h.fake.model.checkRuns.values()];
    expect(check).toMatchObject({ conclusion: 'success', external_id: id });
    expect(check!.output.text.length).toBeLessThanOrEqual(CHECK_OUTPUT_LIMIT);
    expect(check!.output.text).toContain(`full masked log is at ${h.gatewayUrl}/v1/sessions/${id}/log`);
    expect(h.fake.problems).toEqual([]);
  });

  it("carries the session's final audit hash, which verify --expect accepts, and says when there is none", async () => {
    const key = generateAuditSigningKey();
    const recorder = createRecorder({ store: h.store, key, durability: 'store', sealSweepMs: 0 });
    const sealed = await openSession();
    await recorder.sessionStarted(sealed, { claims: { repository: 'acme/app' }, connection: 'app-db' });
    await recorder.record(sealed, 'statement', {
      connection: 'app-db',
      text: 'SELECT 1',
      decision: 'allow',
      rule: 'r',
    });
    await recorder.sessionEnded(sealed, 'disconnect');
    const unsealed = await sessionWith([{ text: 'SELECT 2', decision: 'allow' }]);
    await jobCompleted();
    const checks = new Map([...h.fake.model.checkRuns.values()].map((c) => [c.external_id, c]));
    const hash = /Final audit hash: `([0-9a-f]{64})`/.exec(checks.get(sealed)!.output.summary)?.[1];
    expect(hash).toBeDefined();
    expect(checks.get(sealed)!.output.summary).toContain(`gatehouse audit verify ${sealed} --expect ${hash}`);
    expect(await verifySession(h.store, sealed, key.publicKey, { expect: hash })).toMatchObject({ ok: true });
    expect((await verifySession(h.store, sealed, key.publicKey, { expect: 'ab'.repeat(32) })).ok).toBe(false);
    expect(checks.get(unsealed)!.output.summary).toContain('_No final audit hash');
    await recorder.close();
  });

  it('leaves the sessions of other runs open', async () => {
    const other = await sessionWith([{ text: 'SELECT 1', decision: 'allow' }], String(run + 100_000));
    await jobCompleted();
    expect((await h.store.getSession(other))?.endedAt).toBeNull();
    expect(h.fake.model.checkRuns.size).toBe(0);
  });
});
