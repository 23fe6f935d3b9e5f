import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Probot } from 'probot';
import { parseConfig } from '../../gateway/config/load-config.ts';
import { startGateway, type RunningGateway } from '../../gateway/server/gateway.ts';
import { githubLikeClaims } from '../../gateway/identity/dev-issuer.ts';
import type { GitHubSpec } from '../support/fake-github/openapi-operations.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../support/pg-target.ts';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.ts';
import {
  APPROVALS_SECRET,
  PULL,
  RUN_ID,
  SHA,
  commentPayload,
  startGitHubSide,
  waitFor,
  type GitHubSide,
} from './harness.ts';

const AUDIENCE = 'https://gatehouse.test';

/** UPDATEs of `accounts` wait up to a minute for a reviewer; writes to `carts` only a second. */
export const REVIEW_POLICY = `
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
INSERT INTO accounts SELECT g, 'free' FROM generate_series(1, 1000) AS g;
CREATE TABLE carts (id int PRIMARY KEY, items int NOT NULL);
INSERT INTO carts VALUES (1, 0);
`;

/**
 * The whole approvals path for real: a target database, the gateway (`startGateway`, its store on
 * the real server when there is one), a local OIDC issuer, and the GitHub side (fake GitHub + the
 * Probot app). `session()` opens a gateway session for a job of run {@link RUN_ID} on PR #7.
 */
export interface GatewayTestbed {
  gateway: RunningGateway;
  github: GitHubSide;
  probot: Probot;
  target: TestDatabase;
  session(): Promise<{ id: string; token: string }>;
  connect(token: string): Promise<{ client: pg.Client; notices: string[] }>;
  /** Sends `sql` and waits for the NOTICE naming the approval and for the request on GitHub. */
  held(token: string, sql: string): Promise<{ id: string; result: Promise<pg.QueryResult>; client: pg.Client }>;
  comment(body: string, user: { id: number; login: string }, action?: 'created' | 'edited'): Promise<void>;
  /** Stops the gateway and starts it again on the same config and store. */
  restart(beforeStop?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function startGatewayTestbed(spec: GitHubSpec): Promise<GatewayTestbed> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-app-e2e-'));
  const target = await createTestDatabase(TARGET_SQL);
  const storeDb = usingRealServer() ? await createTestDatabase('SELECT 1') : undefined;
  const issuer: TestIssuer = await startTestIssuer(AUDIENCE);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const github = await startGitHubSide({ spec, privateKey });
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'policy.yaml'), REVIEW_POLICY);
  const configText = [
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
  const clients: pg.Client[] = [];

  const start = async (): Promise<{ gateway: RunningGateway; probot: Probot }> => {
    const gateway = await startGateway(parseConfig(configText, join(dir, 'gatehouse.yaml')), { log: () => {} });
    return { gateway, probot: await github.attach(gateway.httpUrl) };
  };

  const bed: GatewayTestbed = {
    ...(await start()),
    github,
    target,
    async session() {
      const token = await issuer.mint(
        githubLikeClaims({
          ref: `refs/pull/${PULL}/merge`,
          sha: SHA,
          run_id: String(RUN_ID),
          run_attempt: '1',
          actor: 'octo-actor',
          actor_id: '5',
          event_name: 'pull_request',
        }),
      );
      const response = await fetch(`${bed.gateway.httpUrl}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      if (response.status !== 201 && response.status !== 200)
        throw new Error(`no session: HTTP ${response.status} ${await response.text()}`);
      const grant = (await response.json()) as { id: string; token: string };
      return { id: grant.id, token: grant.token };
    },
    async connect(token) {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: bed.gateway.postgresPort,
        user: 'ci',
        password: token,
        database: 'app-db',
      });
      const notices: string[] = [];
      client.on('notice', (notice) => notices.push(notice.message ?? ''));
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
      return { client, notices };
    },
    async held(token, sql) {
      const { client, notices } = await bed.connect(token);
      const result = client.query(sql);
      result.catch(() => {});
      await waitFor(() => notices.some((n) => /held for approval apr_/.test(n)), 'the approval NOTICE');
      const id = /held for approval (apr_[A-Za-z0-9]+)/.exec(notices.join('\n'))![1]!;
      await waitFor(() => github.state.get(id) !== undefined, 'the approval request on GitHub');
      return { id, result, client };
    },
    async comment(body, user, action = 'created') {
      await bed.probot.receive({
        id: `e2e-${Math.random()}`,
        name: 'issue_comment',
        payload: commentPayload(action, body, user),
      } as any);
    },
    async restart(beforeStop) {
      const stopping = bed.gateway.close();
      await beforeStop?.();
      await stopping;
      Object.assign(bed, await start());
    },
    async close() {
      for (const client of clients) await client.end().catch(() => {});
      await bed.gateway.close();
      await github.close();
      await issuer.close();
      await target.drop();
      await storeDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return bed;
}
