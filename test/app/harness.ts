import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Probot, ProbotOctokit, createNodeMiddleware } from 'probot';
import { createGatehouseApp } from '../../app/index.ts';
import { createMemoryApprovalState, type ApprovalStateStore } from '../../app/approval-state.ts';
import { createStore } from '../../gateway/store/create-store.ts';
import type { Store } from '../../gateway/store/store.ts';
import { createApprovalBroker, type ApprovalBroker, type HoldRequest } from '../../gateway/approvals/broker.ts';
import { createHttpNotifier } from '../../gateway/approvals/notifier.ts';
import { createAppRoutes, routeHandler } from '../../gateway/approvals/app-routes.ts';
import { hashStatement, randomApprovalId } from '../../gateway/approvals/approval-record.ts';
import { systemClock } from '../../gateway/identity/session-context.ts';
import { APP_NOTIFY_PATH } from '../../wire/approvals.ts';
import { getSessionLog } from '../../gateway/audit/session-log.ts';
import type { GitHubSpec } from '../support/fake-github/openapi-operations.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github/fake-github.ts';
import type { FakeUser } from '../support/fake-github/github-model.ts';

export const WEBHOOK_SECRET = 'webhook-secret-for-tests';
export const APPROVALS_SECRET = 'approvals-secret-for-tests';
export const SHA = 'c0ffee'.padEnd(40, '0');
export const RUN_ID = 1001;
export const PULL = 7;
export const REPOSITORY_ID = 123456;

/** The people of the scenarios: the job's actor, the PR author, and reviewers of each kind. */
export interface Cast {
  actor: FakeUser;
  author: FakeUser;
  alice: FakeUser;
  bob: FakeUser;
  rita: FakeUser;
  carol: FakeUser;
}

/**
 * The approvals path without the PostgreSQL adapter: a real store, the broker, the gateway's app
 * routes over HTTP, the Probot app over HTTP (webhooks + notify endpoint), and a fake GitHub
 * validated against GitHub's OpenAPI description.
 */
export interface Harness {
  fake: FakeGitHub;
  cast: Cast;
  probot: Probot;
  broker: ApprovalBroker;
  store: Store;
  appUrl: string;
  gatewayUrl: string;
  /** What the app remembers; deleting from it is what an app restart does. */
  state: ApprovalStateStore;
  close(): Promise<void>;
}

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

/** What test files share across their tests: the parsed spec, one store and the app's key. */
export interface HarnessBase {
  spec: GitHubSpec;
  store: Store;
  privateKey: string;
}

export async function startHarnessBase(spec: GitHubSpec, storeLocation: string): Promise<HarnessBase> {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { spec, store: await createStore(storeLocation), privateKey };
}

/**
 * The GitHub side alone: the fake GitHub with the scenario's people, PR and run, and the Probot
 * app served over HTTP. `attach` points the app at a gateway, which may start after the app
 * (the gateway's `approvals.notify_url` is `appUrl + /gatehouse/approvals`). For end-to-end
 * tests through the real gateway.
 */
export interface GitHubSide {
  fake: FakeGitHub;
  cast: Cast;
  appUrl: string;
  /** Where the gateway sends approval requests: give it as `approvals.notify_url`. */
  notifyUrl: string;
  state: ApprovalStateStore;
  attach(gatewayUrl: string): Promise<Probot>;
  close(): Promise<void>;
}

export async function startGitHubSide({
  spec,
  privateKey,
}: {
  spec: GitHubSpec;
  privateKey: string;
}): Promise<GitHubSide> {
  const fake = await startFakeGitHub(spec);
  const m = fake.model;
  const cast: Cast = {
    actor: m.user('octo-actor', 5),
    author: m.user('pr-author', 13),
    alice: m.user('alice', 11),
    bob: m.user('bob', 14),
    rita: m.user('rita', 12),
    carol: m.user('carol', 15),
  };
  m.roles
    .set('alice', 'write')
    .set('bob', 'maintain')
    .set('rita', 'read')
    .set('octo-actor', 'admin')
    .set('pr-author', 'write');
  m.pulls.set(PULL, { number: PULL, author: cast.author, headSha: SHA });
  m.runs.set(RUN_ID, { actor: cast.actor, triggeringActor: cast.actor });
  let appHandler: http.RequestListener = (_req, res) => void res.writeHead(503).end();
  const app = await listen((req, res) => appHandler(req, res));
  const state = createMemoryApprovalState();
  return {
    fake,
    cast,
    appUrl: app.url,
    notifyUrl: `${app.url}${APP_NOTIFY_PATH}`,
    state,
    async attach(gatewayUrl) {
      const probot = new Probot({
        appId: 1,
        privateKey,
        secret: WEBHOOK_SECRET,
        baseUrl: fake.url,
        logLevel: 'fatal',
        Octokit: ProbotOctokit.defaults((options: any) => ({
          ...options,
          throttle: { ...options.throttle, enabled: false },
          retry: { enabled: false },
        })),
      });
      const middleware = await createNodeMiddleware(
        createGatehouseApp({ gatewayUrl, secret: APPROVALS_SECRET, state }),
        { probot },
      );
      appHandler = (req, res) => void middleware(req, res, () => res.writeHead(404).end());
      return probot;
    },
    async close() {
      app.server.closeAllConnections();
      await new Promise((resolve) => app.server.close(resolve));
      await fake.close();
    },
  };
}

export async function startHarness({ spec, store, privateKey }: HarnessBase): Promise<Harness> {
  const github = await startGitHubSide({ spec, privateKey });
  let gatewayHandler: http.RequestListener = (_req, res) => void res.writeHead(503).end();
  const gateway = await listen((req, res) => gatewayHandler(req, res));
  const broker = createApprovalBroker({
    store,
    clock: systemClock,
    publicUrl: gateway.url,
    ids: { approvalId: randomApprovalId },
    replicaId: 'test',
    pollIntervalMs: 200,
    notifier: createHttpNotifier({
      url: github.notifyUrl,
      secret: APPROVALS_SECRET,
      clock: systemClock,
      attempts: 2,
      baseDelayMs: 50,
    }),
  });
  const routes = routeHandler(
    createAppRoutes({
      broker,
      store,
      clock: systemClock,
      secret: APPROVALS_SECRET,
      publicUrl: gateway.url,
      getSessionLog: (id) => getSessionLog(store, id),
    }),
  );
  gatewayHandler = (req, res) => {
    routes(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      () => res.writeHead(500).end(),
    );
  };
  const probot = await github.attach(gateway.url);
  return {
    fake: github.fake,
    cast: github.cast,
    probot,
    broker,
    store,
    appUrl: github.appUrl,
    gatewayUrl: gateway.url,
    state: github.state,
    async close() {
      broker.close();
      gateway.server.closeAllConnections();
      await new Promise((resolve) => gateway.server.close(resolve));
      await github.close();
    },
  };
}

/** A statement held by rule `review-writes`, from a job on PR #7 run by `octo-actor`. */
export function holdRequest(
  review: { approvals?: number; teams?: string[]; timeoutSeconds?: number } = {},
): HoldRequest {
  const statement = "UPDATE accounts SET plan = 'pro' WHERE id = 42";
  return {
    session: {
      sessionId: `ses_${randomBytes(4).toString('hex')}`,
      identity: {
        sessionId: 'ses',
        claims: {
          repository: 'acme/app',
          repository_id: String(REPOSITORY_ID),
          ref: `refs/pull/${PULL}/merge`,
          sha: SHA,
          run_id: String(RUN_ID),
          run_attempt: '1',
          actor: 'octo-actor',
          actor_id: '5',
          workflow: 'deploy',
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
      reason: 'writes to accounts need a reviewer',
      review: {
        timeoutSeconds: review.timeoutSeconds ?? 30,
        minPermission: 'write',
        teams: review.teams ?? [],
        approvals: review.approvals ?? 1,
      },
    },
  };
}

const FIXTURES = new URL('../fixtures/github/', import.meta.url);

/** A real GitHub webhook payload (from @octokit/webhooks-examples), moved to acme/app and our installation. */
export function payload(name: string, adapt: (p: any) => void = () => {}): any {
  const p = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));
  p.repository = {
    ...p.repository,
    id: REPOSITORY_ID,
    name: 'app',
    full_name: 'acme/app',
    owner: { ...p.repository.owner, login: 'acme' },
  };
  p.installation = { id: 4242, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==' };
  adapt(p);
  return p;
}

export function commentPayload(action: 'created' | 'edited', body: string, user: FakeUser): any {
  return payload(`issue_comment.${action}`, (p) => {
    p.issue = { ...p.issue, number: PULL, pull_request: { url: 'https://api.github.com/repos/acme/app/pulls/7' } };
    p.comment = { ...p.comment, body, user: { ...p.comment.user, id: user.id, login: user.login, type: 'User' } };
    p.sender = { ...p.sender, id: user.id, login: user.login };
  });
}

/** Waits for a condition with a bounded number of short sleeps. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
