import pg from 'pg';
import { getSessionLog } from '../audit/session-log.ts';
import { verifySession } from '../audit/verify-session.ts';
import { loadDevIssuerKey, mintDevToken } from '../identity/dev-issuer.ts';
import { systemClock } from '../identity/session-context.ts';
import type { RunningGateway } from '../server/gateway.ts';
import { startLocalProxy, type LocalProxy } from '../client/local-proxy.ts';
import type { AuditEventWire } from '../../wire/audit-events.ts';

/** One step of the simulated CI job and whether it behaved as the demo promises. */
export interface StepOutcome {
  step: string;
  ok: boolean;
  ms: number;
  /** What a person should notice (rows seen, the rule that denied, the approval id, ...). */
  detail: string;
}

export interface DemoJobResult {
  steps: StepOutcome[];
  sessionId: string;
  events: AuditEventWire[];
  proxy: LocalProxy;
  localUrl: string;
}

export interface DemoJobOptions {
  gateway: RunningGateway;
  publicUrl: string;
  onStep: (outcome: StepOutcome) => void;
  /** Called with the approval id of the held UPDATE; the default approves it as a simulated reviewer. */
  review?: (approvalId: string) => Promise<void>;
  /** Leave the session and proxy open at the end (for --interactive). */
  keepOpen?: boolean;
}

/** Runs one named step, timing it and reporting its outcome; a thrown error is a failed step. */
type StepRunner = (name: string, body: () => Promise<{ ok: boolean; detail: string }>) => Promise<StepOutcome>;

/** The proxy the first step started and the database URL it serves (empty until known). */
interface OpenedSession {
  proxy?: LocalProxy;
  localUrl: string;
}

/**
 * A CI job as the Action runs it, in-process: trade a (dev-issued) OIDC token for a session,
 * start the local proxy, then run an ordinary read, a masked read, a blocked DROP and an
 * UPDATE that waits for approval; finally end the session and verify its audit trail.
 */
export async function runDemoJob(options: DemoJobOptions): Promise<DemoJobResult> {
  const { gateway } = options;
  const steps: StepOutcome[] = [];
  const step = createStepRunner(steps, options.onStep);
  const opened = await openSessionStep(step, options);
  const { proxy, localUrl } = opened;
  if (!proxy) return { steps, sessionId: '', events: [], proxy: undefined as never, localUrl };

  const client = new pg.Client({ connectionString: localUrl });
  const notices: string[] = [];
  client.on('notice', (notice) => notices.push(`${notice.message}\n${notice.detail ?? ''}`));
  await client.connect();
  await runQuerySteps(step, client, notices, options);
  await client.end();

  const sessionId = proxy.ready.session_id;
  let events: AuditEventWire[] = [];
  if (!options.keepOpen) {
    await proxy.close({ endSession: true });
    await gateway.recorder.flush();
    events = await verifyAuditStep(step, gateway, sessionId);
  }
  return { steps, sessionId, events, proxy, localUrl };
}

function createStepRunner(steps: StepOutcome[], onStep: (outcome: StepOutcome) => void): StepRunner {
  return async (name, body) => {
    const started = performance.now();
    let outcome: StepOutcome;
    try {
      const { ok, detail } = await body();
      outcome = { step: name, ok, detail, ms: Math.round(performance.now() - started) };
    } catch (error) {
      outcome = {
        step: name,
        ok: false,
        detail: (error as Error).message,
        ms: Math.round(performance.now() - started),
      };
    }
    steps.push(outcome);
    onStep(outcome);
    return outcome;
  };
}

async function openSessionStep(step: StepRunner, options: DemoJobOptions): Promise<OpenedSession> {
  const { gateway } = options;
  const opened: OpenedSession = { localUrl: '' };
  await step('exchange the job’s OIDC token for a session and start the local proxy', async () => {
    const key = await loadDevIssuerKey(gateway.store);
    const token = await mintDevToken(
      key,
      options.publicUrl,
      { repository: 'acme/shop', ref: 'refs/heads/main' },
      systemClock,
    );
    const proxy = await startLocalProxy({
      gateway: gateway.httpUrl,
      credential: { oidcToken: token, ttl: '10m' },
      connections: [{ name: 'shop-db' }],
    });
    opened.proxy = proxy;
    opened.localUrl = proxy.ready.connections[0]!.url!;
    return {
      ok: true,
      detail: `session ${proxy.ready.session_id}, psql → ${opened.localUrl.replace(/:[^:@/]+@/, ':****@')}`,
    };
  });
  return opened;
}

async function runQuerySteps(
  step: StepRunner,
  client: pg.Client,
  notices: string[],
  options: DemoJobOptions,
): Promise<void> {
  await step('an ordinary read', async () => {
    const { rows } = await client.query('SELECT count(*)::int AS orders, sum(total)::text AS revenue FROM orders');
    return { ok: rows[0].orders === 24, detail: `${rows[0].orders} orders, revenue ${rows[0].revenue}` };
  });
  await step('a read of sensitive columns comes back masked', () => maskedReadStep(client));
  await step('DROP TABLE is blocked by policy', async () => {
    const error = await client.query('DROP TABLE orders').then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    return { ok: error?.code === '42501', detail: error ? `${error.code}: ${error.message}` : 'the DROP ran!' };
  });
  await step('an UPDATE waits for approval, a reviewer approves, it runs', async () => {
    const review = options.review ?? ((id: string) => approveAsReviewer(options.gateway, id));
    const held = client.query("UPDATE orders SET status = 'shipped' WHERE id = 7");
    const approvalId = await waitForApprovalId(notices);
    await review(approvalId);
    const result = await held;
    return { ok: result.rowCount === 1, detail: `held as ${approvalId}, approved, ${result.rowCount} row updated` };
  });
}

async function maskedReadStep(client: pg.Client): Promise<{ ok: boolean; detail: string }> {
  const { rows } = await client.query('SELECT name, email, card_number, notes FROM customers ORDER BY id LIMIT 2');
  const raw = JSON.stringify(rows);
  const leaked = [
    'katherine@orbit.example.com',
    '4111111111111111',
    '5555555555554444',
    'dv@compute.example.net',
  ].filter((v) => raw.includes(v));
  return {
    ok: leaked.length === 0 && rows.length === 2,
    detail: rows.map((r) => `${r.name} | ${r.email} | ${r.card_number} | ${r.notes}`).join('\n'),
  };
}

/** Waits for the session to be sealed, then returns its events after checking chain and signature. */
async function verifyAuditStep(
  step: StepRunner,
  gateway: RunningGateway,
  sessionId: string,
): Promise<AuditEventWire[]> {
  let events: AuditEventWire[] = [];
  await step('the session’s audit trail verifies (hash chain and signature)', async () => {
    await waitFor(async () => (await getSessionLog(gateway.store, sessionId))?.sealed === true);
    events = (await getSessionLog(gateway.store, sessionId))?.events ?? [];
    const verdict = await verifySession(gateway.store, sessionId, gateway.auditPublicKey);
    return {
      ok: verdict?.ok === true,
      detail: verdict?.ok
        ? `${events.length} events, chain intact, signature valid`
        : `verification failed: ${JSON.stringify(verdict.problems)}`,
    };
  });
  return events;
}

async function approveAsReviewer(gateway: RunningGateway, approvalId: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 400));
  const result = await gateway.broker.decide(approvalId, { approved: true, by: ['hubot (simulated reviewer)'] });
  if (!result.ok) throw new Error(result.message);
}

async function waitForApprovalId(notices: string[]): Promise<string> {
  let id: string | undefined;
  await waitFor(async () => {
    id = notices.map((n) => /held for approval (\S+)/.exec(n)?.[1]).find(Boolean);
    return id !== undefined;
  });
  return id!;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
