import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Probot } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/load-config.ts';
import { startGateway, type RunningGateway } from '../../gateway/server/gateway.ts';
import { githubLikeClaims } from '../../gateway/identity/dev-issuer.ts';
import { loadGitHubSpec } from '../support/fake-github/openapi-operations.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../support/pg-target.ts';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.ts';
import { APPROVALS_SECRET, PULL, RUN_ID, SHA, commentPayload, payload, startGitHubSide, waitFor, type GitHubSide } from './harness.ts';

const AUDIENCE = 'https://gatehouse.test';
const POLICY = `
identities:
  - name: pr-jobs
    claims: { repository: acme/app }
    repository_id: "123456"
    connections: [app-db]
    max_ttl: 15m
rules:
  - name: reads-and-writes
    when: { kind: [read, write, transaction, utility] }
    action: allow
    reason: CI may read and write
  - name: review-account-changes
    when: { command: [UPDATE], tables_written: [accounts] }
    action: review
    reason: Changing accounts needs a reviewer
    review: { timeout: 60s, min_permission: write }
  - name: review-cart-changes
    when: { tables_written: [carts] }
    action: review
    reason: Carts need a quick reviewer
    review: { timeout: 1s }
`;
const TARGET_SQL = `
CREATE TABLE accounts (id int PRIMARY KEY, plan text NOT NULL);
INSERT INTO accounts VALUES (42, 'free'), (43, 'free');
CREATE TABLE carts (id int PRIMARY KEY, items int NOT NULL);
INSERT INTO carts VALUES (1, 0);
`;

let dir: string;
let target: TestDatabase;
let storeDb: TestDatabase | undefined;
let issuer: TestIssuer;
let github: GitHubSide;
let gateway: RunningGateway;
let probot: Probot;
let configText: string;
let sessionId: string;
let sessionToken: string;
const clients: pg.Client[] = [];

async function startTheGateway(): Promise<void> {
  gateway = await startGateway(parseConfig(configText, join(dir, 'gatehouse.yaml')), { log: () => {} });
  probot = await github.attach(gateway.httpUrl);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-app-e2e-'));
  target = await createTestDatabase(TARGET_SQL);
  storeDb = usingRealServer() ? await createTestDatabase('SELECT 1') : undefined;
  issuer = await startTestIssuer(AUDIENCE);
  const { generateKeyPairSync } = await import('node:crypto');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  github = await startGitHubSide({ spec: loadGitHubSpec(), privateKey });
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'policy.yaml'), POLICY);
  configText = [
    'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
    `store: ${storeDb ? storeDb.url : join(dir, 'store')}`,
    'issuers:',
    `  - { issuer: "${issuer.issuer}", audience: "${AUDIENCE}", jwks_uri: "${issuer.jwksUri}" }`,
    'connections:',
    '  app-db:',
    '    type: postgres',
    `    url: ${target.url}`,
    `policies: ${join(dir, 'policies')}`,
    `approvals: { notify_url: "${github.notifyUrl}", secret: ${APPROVALS_SECRET} }`,
  ].join('\n');
  await startTheGateway();
  const token = await issuer.mint(githubLikeClaims({ ref: `refs/pull/${PULL}/merge`, sha: SHA, run_id: String(RUN_ID), run_attempt: '1', actor: 'octo-actor', actor_id: '5', event_name: 'pull_request' }));
  const response = await fetch(`${gateway.httpUrl}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  const grant = (await response.json()) as { id: string; token: string };
  sessionId = grant.id;
  sessionToken = grant.token;
});

afterAll(async () => {
  for (const client of clients) await client.end().catch(() => {});
  await gateway?.close();
  await github?.close();
  await issuer?.close();
  await target?.drop();
  await storeDb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** A psql-like client through the native listener, with the session token as password. */
async function connect(): Promise<{ client: pg.Client; notices: string[] }> {
  const client = new pg.Client({ host: '127.0.0.1', port: gateway.postgresPort, user: 'ci', password: sessionToken, database: 'app-db' });
  const notices: string[] = [];
  client.on('notice', (notice) => notices.push(notice.message ?? ''));
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return { client, notices };
}

/** Sends `sql`, waits for the NOTICE naming the approval and for the request on GitHub. */
async function held(sql: string): Promise<{ id: string; result: Promise<pg.QueryResult>; client: pg.Client }> {
  const { client, notices } = await connect();
  const result = client.query(sql);
  result.catch(() => {});
  await waitFor(() => notices.some((n) => /held for approval apr_/.test(n)), 'the approval NOTICE');
  const id = /held for approval (apr_[A-Za-z0-9]+)/.exec(notices.join('\n'))![1]!;
  await waitFor(() => github.state.get(id) !== undefined, 'the approval request on GitHub');
  return { id, result, client };
}

async function comment(body: string, user: { id: number; login: string }, action: 'created' | 'edited' = 'created'): Promise<void> {
  await probot.receive({ id: `e2e-${Math.random()}`, name: 'issue_comment', payload: commentPayload(action, body, user) } as any);
}

async function planOf(id: number): Promise<string> {
  const direct = new pg.Client({ connectionString: target.url });
  await direct.connect();
  try {
    return (await direct.query('SELECT plan FROM accounts WHERE id = $1', [id])).rows[0].plan;
  } finally {
    await direct.end();
  }
}

describe('approvals end to end through the gateway and PostgreSQL', () => {
  it('runs a held UPDATE after a collaborator with write access approves it on the pull request', async () => {
    const { id, result } = await held("UPDATE accounts SET plan = 'pro' WHERE id = 42");
    expect(await planOf(42)).toBe('free');
    const comments = github.fake.model.comments.filter((c) => c.body.includes(id));
    expect(comments[0]?.body).toContain("UPDATE accounts SET plan = 'pro' WHERE id = 42");
    await comment(`/gatehouse approve ${id}`, github.cast.alice);
    expect((await result).rowCount).toBe(1);
    expect(await planOf(42)).toBe('pro');
    expect(github.fake.problems).toEqual([]);
  });

  it("keeps it held for the workflow's actor, a read-only user and an edited comment, then refuses it on denial", async () => {
    const { id, result } = await held("UPDATE accounts SET plan = 'pro' WHERE id = 43");
    await comment(`/gatehouse approve ${id}`, github.cast.actor);
    await comment(`/gatehouse approve ${id}`, github.cast.rita);
    await comment(`/gatehouse approve ${id}`, github.cast.alice, 'edited');
    expect(await gateway.store.getApproval(id)).toMatchObject({ status: 'pending' });
    expect(github.fake.model.comments.at(-2)?.body).toContain('cannot approve');
    expect(github.fake.model.comments.at(-1)?.body).toContain('has read permission');
    await comment(`/gatehouse deny ${id} wrong account`, github.cast.alice);
    await expect(result).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('denied by alice: wrong account') });
    expect(await planOf(43)).toBe('free');
  });

  it('refuses a held statement nobody answers in time', async () => {
    const { id, result } = await held('UPDATE carts SET items = 5 WHERE id = 1');
    await expect(result).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('approval timed out') });
    await waitFor(() => [...github.fake.model.checkRuns.values()].some((c) => c.external_id === id && c.conclusion === 'timed_out'), 'the timed-out check run');
  });

  it('posts the audit check run with the masked log when the job completes', async () => {
    const event = payload('workflow_job.completed', (p) => {
      p.workflow_job = { ...p.workflow_job, id: 777, run_id: RUN_ID, run_attempt: 1, head_sha: SHA };
    });
    await probot.receive({ id: 'e2e-job', name: 'workflow_job', payload: event } as any);
    const audit = [...github.fake.model.checkRuns.values()].find((c) => c.name === 'gatehouse / app-db' && c.external_id === sessionId);
    expect(audit).toMatchObject({ status: 'completed', conclusion: 'failure', head_sha: SHA });
    expect(audit!.output.text).toContain("UPDATE accounts SET plan = 'pro' WHERE id = 42");
    expect(audit!.output.text).toContain('approval');
    expect((await gateway.store.getSession(sessionId))?.endedAt).not.toBeNull();
    expect(github.fake.problems).toEqual([]);
  });

  it('marks a request held across a gateway restart abandoned, since its client is gone', async () => {
    const token = await issuer.mint(githubLikeClaims({ ref: `refs/pull/${PULL}/merge`, sha: SHA, run_id: String(RUN_ID), actor: 'octo-actor', actor_id: '5' }));
    const grant = (await (await fetch(`${gateway.httpUrl}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })).json()) as { token: string };
    sessionToken = grant.token;
    const { id, result, client } = await held("UPDATE accounts SET plan = 'gold' WHERE id = 43");
    const stopping = gateway.close();
    await expect(result).rejects.toBeDefined();
    await client.end();
    await stopping;
    expect(await planOf(43)).toBe('free');
    await startTheGateway();
    expect(await gateway.store.getApproval(id)).toMatchObject({ status: 'abandoned' });
    await waitFor(() => [...github.fake.model.checkRuns.values()].some((c) => c.external_id === id && c.conclusion === 'cancelled'), 'the abandoned check run');
  });
});
