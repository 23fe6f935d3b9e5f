import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';
import {
  SSH_CONNECTION,
  STATIC_TOKEN,
  startTestGateway,
  type GatewayUnderTest,
} from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { startSshTarget, type SshTestTarget } from '../../support/sshd.ts';
import { runSsh } from '../ssh/ssh-client.ts';

const REVIEW_RULES = `
rules:
  - name: orders-need-review
    action: review
    when: { tables_written: [orders] }
    reason: "changing orders needs a reviewer"
    review: { timeout: 1m }
  - name: clock-needs-review
    action: review
    when: { ssh: { type: [exec], program: [date] } }
    reason: "reading the clock needs a reviewer"
    review: { timeout: 1m }
`;

let db: TestDatabase;
let target: SshTestTarget;

beforeAll(async () => {
  [db, target] = await Promise.all([createTestDatabase(), startSshTarget()]);
}, 60_000);

afterAll(async () => {
  await target?.stop();
  await db?.drop();
});

function policyFolder(extra: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-one-path-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(dir, 'default.yaml'));
  writeFileSync(path.join(dir, 'review.yaml'), extra);
  return dir;
}

async function sessionEvents(gateway: GatewayUnderTest): Promise<AuditEventRecord[]> {
  const session = await gateway.sessions.authenticate(STATIC_TOKEN);
  await gateway.recorder.flush();
  return gateway.store.listAuditEvents(session!.sessionId);
}

function ssh(gateway: GatewayUnderTest, command: string) {
  return runSsh({
    port: gateway.sshPort!,
    user: SSH_CONNECTION,
    knownHosts: gateway.sshKnownHosts!,
    password: STATIC_TOKEN,
    command,
  });
}

async function sql(gateway: GatewayUnderTest, text: string): Promise<{ error?: pg.DatabaseError }> {
  const client = new pg.Client({ connectionString: gateway.url });
  await client.connect();
  try {
    await client.query(text);
    return {};
  } catch (error) {
    return { error: error as pg.DatabaseError };
  } finally {
    await client.end();
  }
}

/** Approves the first pending approval of `connection` once it exists. */
async function approveWhenPending(gateway: GatewayUnderTest, connection: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const pending = (await gateway.store.listPendingApprovals()).find((a) => a.connection === connection);
    if (pending) {
      await gateway.broker.decide(pending.id, { approved: true, by: ['alice'] });
      return pending.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no approval for ${connection} was requested`);
}

/** The approval events and the command event of one approval, in log order, as [type, key facts]. */
function approvalTrail(events: AuditEventRecord[], approvalId: string): [string, Record<string, unknown>][] {
  return events
    .filter((e) => e.data.approval_id === approvalId)
    .map((e) => [e.type, { status: e.data.status, decision: e.data.decision, rule: e.data.rule }]);
}

describe('one enforcement path for PostgreSQL and SSH', () => {
  it('records the approval of a held SSH command in its session log, as it does for a held SQL statement', async () => {
    const gateway = await startTestGateway(db, { ssh: target, policies: policyFolder(REVIEW_RULES) });
    try {
      const [statement, pgApproval] = await Promise.all([
        sql(gateway, "UPDATE orders SET status = 'held' WHERE id = 1"),
        approveWhenPending(gateway, 'app-db'),
      ]);
      expect(statement.error).toBeUndefined();
      const [command, sshApproval] = await Promise.all([
        ssh(gateway, 'date +%Y'),
        approveWhenPending(gateway, SSH_CONNECTION),
      ]);
      expect(command.code).toBe(0);
      expect(command.stderr).toContain(
        `approval ${sshApproval}: an operator approves with: gatehouse approvals approve ${sshApproval}`,
      );
      const events = await sessionEvents(gateway);
      const trail = (type: string, rule: string) => [
        ['approval.requested', { status: undefined, decision: undefined, rule }],
        ['approval.decided', { status: 'approved', decision: undefined, rule: undefined }],
        [type, { status: undefined, decision: 'allow', rule }],
      ];
      expect(approvalTrail(events, pgApproval)).toEqual(trail('statement', 'orders-need-review'));
      expect(approvalTrail(events, sshApproval)).toEqual(trail('ssh.exec', 'clock-needs-review'));
    } finally {
      await gateway.close();
    }
  }, 60_000);

  it('denies on both protocols, with the same audit event, when the policy engine throws', async () => {
    const gateway = await startTestGateway(db, {
      ssh: target,
      start: {
        createEngine: (policy) => ({
          policy,
          decide: () => {
            throw new Error('engine exploded');
          },
          evaluate: () => {
            throw new Error('engine exploded');
          },
        }),
      },
    });
    try {
      const statement = await sql(gateway, 'SELECT 1');
      expect(statement.error).toMatchObject({
        code: '42501',
        message: 'gatehouse: the policy engine could not decide; denied (fail closed)',
      });
      const command = await ssh(gateway, 'echo never');
      expect(command.code).toBe(1);
      expect(command.stdout).toBe('');
      expect(command.stderr).toContain(
        'gatehouse: denied by policy rule "engine-error": the policy engine could not decide; denied (fail closed)',
      );
      const events = await sessionEvents(gateway);
      const decisionOf = (type: string) => {
        const data = events.find((e) => e.type === type)?.data;
        return { decision: data?.decision, rule: data?.rule, reason: data?.reason };
      };
      expect(decisionOf('statement')).toEqual({
        decision: 'deny',
        rule: 'engine-error',
        reason: 'the policy engine could not decide; denied (fail closed)',
      });
      expect(decisionOf('ssh.exec')).toEqual(decisionOf('statement'));
      expect(gateway.logs.filter((line) => line.includes('engine exploded'))).toHaveLength(2);
      const metric = await gateway.metrics.registry.getSingleMetricAsString('gatehouse_statements_total');
      expect(metric).toMatch(/protocol="postgres",decision="deny"\} [1-9]/);
      expect(metric).toMatch(/protocol="ssh",decision="deny"\} [1-9]/);
    } finally {
      await gateway.close();
    }
  }, 60_000);
});
