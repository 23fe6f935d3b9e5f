import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_FINAL_HASH, startFakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { createRunnerFiles, type RunnerFiles } from './support/runner-files.ts';
import { alive, runStep } from './support/run-step.ts';

const event = (seq: number, type: string, data: Record<string, unknown>) => ({
  session_id: 'ses_fake1',
  seq,
  type,
  at: '2030-01-01T00:00:00.000Z',
  data,
  prev_hash: '',
  hash: '',
});
const LOG = {
  session_id: 'ses_fake1',
  status: 'open',
  events: [
    event(1, 'session.start', { claims: { repository: 'acme/app' }, connection: 'app-db' }),
    event(2, 'statement', {
      connection: 'app-db',
      text: 'select email from customers',
      decision: 'allow',
      rule: 'default',
    }),
    event(3, 'statement.result', { duration_ms: 2, rows: 3, masked_values: 3 }),
    event(4, 'result.sample', { columns: ['email'], rows: [['***']] }),
    event(5, 'statement', { connection: 'app-db', text: 'drop table customers', decision: 'deny', rule: 'no-drop' }),
    event(6, 'statement', { connection: 'app-db', text: 'select a | b', decision: 'review', rule: 'risky' }),
    event(7, 'approval.requested', { approval_id: 'apr_1', statement: 'select a | b', rule: 'risky' }),
  ],
};

describe('the disconnect step (actions/dist/disconnect.mjs) against a fake gateway', { timeout: 60_000 }, () => {
  let runner: RunnerFiles;
  let oidc: FakeOidcEndpoint;
  let gateway: FakeGateway;

  beforeEach(async () => {
    runner = createRunnerFiles();
    oidc = await startFakeOidcEndpoint(() => 'header.payload.signature');
    gateway = await startFakeGateway({ log: LOG });
  });
  afterEach(async () => {
    await oidc.close();
    await gateway.close();
    runner.cleanup();
  });

  it('ends the session, stops the proxy and writes the statement table to the job summary', async () => {
    const connect = await runStep('connect.mjs', {
      ...runner.env,
      ...oidc.env,
      INPUT_GATEWAY: gateway.url,
      INPUT_CONNECTIONS: 'app-db',
    });
    expect(connect.code).toBe(0);
    const stateFile = runner.exported().GATEHOUSE_STATE_FILE!;
    const { pid } = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number };
    expect(alive(pid)).toBe(true);

    const result = await runStep('disconnect.mjs', runner.env);
    expect(result.stdout).not.toContain('::error::');
    expect(result.code).toBe(0);
    expect(alive(pid)).toBe(false);
    const calls = gateway.requests
      .filter((r) => r.authorization === `Bearer ${gateway.sessionToken}`)
      .map((r) => `${r.method} ${r.path}`);
    expect(calls).toEqual(['GET /v1/sessions/ses_fake1/log', 'DELETE /v1/sessions/ses_fake1']);
    expect(existsSync(stateFile)).toBe(false);

    const summary = runner.summary();
    expect(summary).toContain('### Gatehouse session `ses_fake1`');
    expect(summary).toContain('**3** statements (1 allow, 1 deny, 1 review) · **3** rows · **3** masked values');
    expect(summary).toContain('| # | Connection | Statement | Decision | Rule | Rows | Masked |');
    expect(summary).toContain('| 2 | app-db | `drop table customers` | deny | no-drop |  | 0 |');
    expect(summary).toContain('`select a \\| b` | review | risky |');
    expect(summary).toContain(
      `Audit log final hash: \`${FAKE_FINAL_HASH}\` — check the stored log against it with \`gatehouse audit verify ses_fake1 --expect ${FAKE_FINAL_HASH}\`.`,
    );
    expect(result.stdout).toContain(`::add-mask::${gateway.sessionToken}`);
  });

  it('does nothing and succeeds when no session was opened in this job', async () => {
    const result = await runStep('disconnect.mjs', runner.env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No Gatehouse session to end in this job');
    expect(runner.summary()).toBe('');
    expect(gateway.requests).toHaveLength(0);
  });

  it('still stops the proxy and writes the summary with a note when the log cannot be fetched', async () => {
    const connect = await runStep('connect.mjs', {
      ...runner.env,
      ...oidc.env,
      INPUT_GATEWAY: gateway.url,
      INPUT_CONNECTIONS: 'app-db',
    });
    expect(connect.code).toBe(0);
    const { pid } = JSON.parse(readFileSync(runner.exported().GATEHOUSE_STATE_FILE!, 'utf8')) as { pid: number };
    await gateway.close();

    const result = await runStep('disconnect.mjs', runner.env);
    expect(alive(pid)).toBe(false);
    expect(result.stdout).toMatch(/::warning::The session log could not be fetched: Cannot reach the gateway/);
    expect(result.stdout).toMatch(/::error::No Gatehouse session could be ended/);
    expect(runner.summary()).toContain('> The session log could not be fetched: Cannot reach the gateway');
    expect(runner.summary()).toContain('gatehouse audit show ses_fake1');
    gateway = await startFakeGateway();
  });
});
