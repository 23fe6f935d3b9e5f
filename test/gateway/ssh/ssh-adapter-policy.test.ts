import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldRequest, HoldResult } from '../../../gateway/approvals/broker.ts';
import { createContentMasker, DETECTOR_REPLACEMENT } from '../../../gateway/content/detectors.ts';
import { compileMaskingConfig } from '../../../gateway/masking/masking-config.ts';
import { createPolicyEngine } from '../../../gateway/policy/engine.ts';
import { loadPolicies } from '../../../gateway/policy/load-policies.ts';
import { startSshTarget, type SshTestTarget } from '../../support/sshd.ts';
import { CONNECTION, SECRET, sshConnection, startGateway, TOKEN, type Harness } from './gateway-harness.ts';
import { runSsh } from './ssh-client.ts';

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
let gw: Harness;
let dir: string;
const holds: HoldRequest[] = [];
const counts: string[] = [];
let holdResult: HoldResult = { outcome: 'approved', approvalId: 'apr_1', decidedBy: ['octocat'], reason: null };

beforeAll(async () => {
  target = await startSshTarget();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-policy-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const policy = loadPolicies(dir);
  const engine = createPolicyEngine(policy);
  const masking = compileMaskingConfig(policy.masking, CONNECTION);
  const masker = createContentMasker({ detectors: masking.detectors, customDetectors: masking.customDetectors });
  gw = await startGateway([sshConnection(target)], {
    decide: (action) => engine.decide(action),
    maskText: (text) => masker.maskText(text),
    counted: (decision) => counts.push(decision),
  });
  gw.hold = async (request, options) => {
    holds.push(request);
    options?.onPending?.({
      id: 'apr_1',
      approveUrl: 'https://gateway.example/approve/apr_1',
      approveCommand: '/gatehouse approve apr_1',
      howToApprove: 'an operator approves with: gatehouse approvals approve apr_1',
      expiresAt: new Date(Date.now() + 60_000),
    });
    return holdResult;
  };
});

afterAll(async () => {
  await gw?.close();
  await target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const events = () => gw.events;
const ssh = (command: string) =>
  runSsh({ port: gw.port, user: CONNECTION, knownHosts: gw.knownHosts, password: TOKEN, command });

describe('the SSH gateway wired to the real policy engine and detectors', () => {
  it('runs what a rule allows and masks what the detectors find', async () => {
    const result = await ssh(`echo ${SECRET}`);
    expect(result).toMatchObject({ code: 0, stdout: `${DETECTOR_REPLACEMENT}\n` });
    expect(events().find((event) => event.type === 'ssh.exec')?.data).toMatchObject({
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
    expect(result.stderr).toContain('approval apr_1: an operator approves with: gatehouse approvals approve apr_1');
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
