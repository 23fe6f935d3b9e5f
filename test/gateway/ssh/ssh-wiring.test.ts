import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalBroker, HoldRequest, HoldResult } from '../../../gateway/approvals/broker.ts';
import type { SessionContext } from '../../../gateway/identity/session-context.ts';
import { createContentMasker, DETECTOR_REPLACEMENT } from '../../../gateway/masking/detectors.ts';
import { compileMaskingConfig } from '../../../gateway/masking/masking-config.ts';
import { createPolicyEngine } from '../../../gateway/policy/engine.ts';
import { loadPolicies } from '../../../gateway/policy/load-policies.ts';
import { knownHostsLine, sshHostKeyFromPrivate } from '../../../gateway/ssh/host-key.ts';
import { createSshGateway, type SshGateway } from '../../../gateway/ssh/ssh-gateway.ts';
import { createSshDeps } from '../../../gateway/ssh/ssh-wiring.ts';
import { startSshTarget, type SshTestTarget } from '../../support/sshd.ts';
import { CONNECTION, SECRET, sshConnection, TOKEN, type Recorded } from './gateway-harness.ts';
import { runSsh } from './ssh-client.ts';
import { generateEd25519KeyPair } from '../../../gateway/ssh/ssh-key-text.ts';

const POLICY = `
rules:
  - name: allow-echo
    action: allow
    when: { ssh: { type: [exec], program: [echo] } }
    reason: "echo is harmless"
  - name: date-needs-review
    action: review
    when: { ssh: { type: [exec], program: [date] } }
    reason: "reading the clock needs a reviewer"
    review: { timeout: 1m }
masking:
  - connections: ["*"]
    detectors: [github_token]
`;

let target: SshTestTarget;
let gateway: SshGateway;
let port: number;
let dir: string;
let knownHosts: string;
const events: Recorded[] = [];
const holds: HoldRequest[] = [];
const counts: string[] = [];
let holdResult: HoldResult = { outcome: 'approved', approvalId: 'apr_1', decidedBy: ['octocat'], reason: null };

beforeAll(async () => {
  target = await startSshTarget();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-wiring-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const policy = loadPolicies(dir);
  const session: SessionContext = {
    sessionId: 'sess-wired',
    identity: { sessionId: 'sess-wired', claims: { repository: 'acme/app' }, identityRule: 'main-deploys' },
    connections: [CONNECTION],
    expiresAt: new Date(Date.now() + 3600_000),
  };
  const broker: Pick<ApprovalBroker, 'hold'> = {
    hold: async (request, options) => {
      holds.push(request);
      options?.onPending?.({
        id: 'apr_1',
        approveUrl: 'https://gateway.example/approve/apr_1',
        approveCommand: '/gatehouse approve apr_1',
        expiresAt: new Date(Date.now() + 60_000),
      });
      return holdResult;
    },
  };
  const deps = createSshDeps({
    engine: createPolicyEngine(policy),
    sessions: { authenticate: async (token) => (token === TOKEN ? session : null) },
    store: { getSession: async () => null },
    recorder: { record: async (sessionId, type, data) => void events.push({ sessionId, type, data }) },
    broker,
    maskTextFor: (connection) => {
      const masking = compileMaskingConfig(policy.masking, connection);
      return createContentMasker({ detectors: masking.detectors, customDetectors: masking.customDetectors }).maskText;
    },
    clock: { now: () => new Date() },
    log: () => undefined,
    counted: (decision) => counts.push(decision),
  });
  const hostKey = sshHostKeyFromPrivate(generateEd25519KeyPair().private);
  gateway = createSshGateway({ hostKey, connections: { [CONNECTION]: sshConnection(target) }, deps });
  await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', () => resolve()));
  port = (gateway.server.address() as AddressInfo).port;
  knownHosts = knownHostsLine(hostKey, '127.0.0.1', port);
});

afterAll(async () => {
  await gateway?.close();
  await target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ssh = (command: string) => runSsh({ port, user: CONNECTION, knownHosts, password: TOKEN, command });

describe('the SSH gateway wired to the real policy engine and detectors', () => {
  it('runs what a rule allows and masks what the detectors find', async () => {
    const result = await ssh(`echo ${SECRET}`);
    expect(result).toMatchObject({ code: 0, stdout: `${DETECTOR_REPLACEMENT}\n` });
    expect(events.find((event) => event.type === 'ssh.exec')?.data).toMatchObject({
      command: `echo ${DETECTOR_REPLACEMENT}`,
      decision: 'allow',
      rule: 'allow-echo',
    });
  });

  it('denies what no rule allows, with the engine reason on stderr', async () => {
    const result = await ssh('ls /');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gatehouse: denied by policy rule "default-deny"');
    expect(counts.at(-1)).toBe('deny');
  });

  it('holds a review rule through the approvals broker and tells the client where to approve', async () => {
    holdResult = { outcome: 'approved', approvalId: 'apr_1', decidedBy: ['octocat'], reason: null };
    const result = await ssh('date +%Y');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d{4}\n$/);
    expect(result.stderr).toContain('https://gateway.example/approve/apr_1');
    expect(holds.at(-1)).toMatchObject({
      connection: CONNECTION,
      statement: 'date +%Y',
      decision: { action: 'review', rule: 'date-needs-review' },
    });
  });

  it('refuses a held command that timed out', async () => {
    holdResult = { outcome: 'timed-out', approvalId: 'apr_2', decidedBy: [], reason: null };
    const result = await ssh('date');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('approval timed out (rule "date-needs-review")');
  });
});
