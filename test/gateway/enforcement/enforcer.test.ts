import { describe, expect, it } from 'vitest';
import type { HoldResult } from '../../../gateway/approvals/broker.ts';
import { createEnforcer, type EnforceCall, type EnforcementContext } from '../../../gateway/enforcement/enforcer.ts';
import type { Verdict } from '../../../gateway/enforcement/verdict.ts';
import type { Action, Decision } from '../../../gateway/policy/actions-and-decisions.ts';

const identity = { sessionId: 'sess-1', claims: { repository: 'acme/app' } };
const session = { sessionId: 'sess-1', identity, connections: ['db'], expiresAt: new Date(Date.now() + 60_000) };
const action: Action = { type: 'ssh.exec', connection: 'db', identity, command: 'ls', argv: ['ls'] };
const ALLOW: Decision = { action: 'allow', rule: 'ok', reason: 'fine' };
const DENY: Decision = { action: 'deny', rule: 'no', reason: 'not here' };
const REVIEW: Decision = {
  action: 'review',
  rule: 'ask',
  reason: 'needs a reviewer',
  review: { timeoutSeconds: 60, minPermission: 'write', teams: [], approvals: 1 },
};

function context(audit: 'required' | 'best-effort' = 'required'): EnforcementContext {
  return { session, connection: { name: 'db', audit }, protocol: 'test' };
}

interface Bed {
  events: { type: string; data: Record<string, unknown> }[];
  counted: string[];
  logs: string[];
  enforce(call?: Partial<EnforceCall>, audit?: 'required' | 'best-effort'): Verdict | Promise<Verdict>;
}

function bed(options: { decide?: () => Decision; recordFails?: boolean; hold?: () => Promise<HoldResult> } = {}): Bed {
  const events: Bed['events'] = [];
  const counted: string[] = [];
  const logs: string[] = [];
  const enforcer = createEnforcer({
    engine: { decide: options.decide ?? (() => ALLOW) },
    broker: options.hold ? { hold: options.hold } : undefined,
    recorder: {
      record: async (_sessionId, type, data) => {
        if (options.recordFails) throw new Error('store down');
        events.push({ type, data: data as Record<string, unknown> });
      },
    },
    metrics: { statements: { inc: ({ decision }) => void counted.push(decision) } },
    log: (message) => void logs.push(message),
  });
  const baseCall: EnforceCall = {
    text: 'ls',
    shown: () => 'ls',
    event: () => ({ type: 'ssh.exec', data: { command: 'ls' } }),
    hold: { pending: () => undefined },
  };
  return {
    events,
    counted,
    logs,
    enforce: (call = {}, audit = 'required') => enforcer.enforce(context(audit), action, { ...baseCall, ...call }),
  };
}

describe('enforce', () => {
  it('answers an allowed command synchronously when it need not wait for its event (best-effort)', () => {
    const b = bed();
    const verdict = b.enforce({}, 'best-effort');
    expect(verdict).not.toBeInstanceOf(Promise);
    expect(verdict).toMatchObject({ allowed: true, decision: ALLOW });
    expect(b.events).toEqual([
      { type: 'ssh.exec', data: { command: 'ls', decision: 'allow', rule: 'ok', reason: 'fine' } },
    ]);
  });

  it('waits for the event of an allowed command when the connection requires audit', async () => {
    const b = bed();
    const verdict = b.enforce();
    expect(verdict).toBeInstanceOf(Promise);
    await expect(verdict).resolves.toMatchObject({ allowed: true });
  });

  it('refuses an allowed command whose event cannot be written on an audit-required connection', async () => {
    const b = bed({ recordFails: true });
    await expect(b.enforce()).resolves.toMatchObject({
      allowed: false,
      code: 'audit-unavailable',
      decision: { action: 'deny', rule: 'ok' },
      hint: expect.stringContaining('audit: best-effort'),
    });
  });

  it('lets an allowed command run on a best-effort connection when its event cannot be written', async () => {
    const b = bed({ recordFails: true });
    expect(b.enforce({}, 'best-effort')).toMatchObject({ allowed: true });
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.logs.some((line) => line.includes('store down'))).toBe(true);
  });

  it('refuses a denied command at once with the rule, and still records it', () => {
    const b = bed({ decide: () => DENY });
    const verdict = b.enforce();
    expect(verdict).toEqual({
      allowed: false,
      code: 'denied',
      decision: { action: 'deny', rule: 'no', reason: 'not here' },
      message: 'gatehouse: denied by rule "no": not here',
      hint: expect.stringContaining('action: review'),
    });
    expect(b.events[0]!.data).toMatchObject({ decision: 'deny', rule: 'no', reason: 'not here' });
    expect(b.counted).toEqual(['deny']);
  });

  it('turns an engine exception into a denial by rule engine-error, recorded and counted', () => {
    const b = bed({
      decide: () => {
        throw new Error('boom');
      },
    });
    expect(b.enforce()).toMatchObject({ allowed: false, code: 'engine-error', decision: { rule: 'engine-error' } });
    expect(b.events[0]!.data).toMatchObject({ decision: 'deny', rule: 'engine-error' });
    expect(b.counted).toEqual(['deny']);
    expect(b.logs[0]).toContain('boom');
  });

  it('refuses a review when the gateway has no approvals broker', async () => {
    const b = bed({ decide: () => REVIEW });
    await expect(b.enforce()).resolves.toMatchObject({
      code: 'no-approvals',
      message: 'gatehouse: rule "ask" requires approval, but approvals are not configured on this gateway',
    });
  });

  it('refuses a review the request cannot wait for (no hold control)', async () => {
    const b = bed({
      decide: () => REVIEW,
      hold: async () => ({ outcome: 'approved', approvalId: 'a', decidedBy: [], reason: null }),
    });
    await expect(b.enforce({ hold: undefined })).resolves.toMatchObject({ code: 'no-approvals' });
  });

  it('runs an approved command with its approval in the event', async () => {
    const told: string[] = [];
    const b = bed({
      decide: () => REVIEW,
      hold: async () => ({ outcome: 'approved', approvalId: 'apr_1', decidedBy: ['alice'], reason: null }),
    });
    const verdict = await b.enforce({
      hold: {
        held: () => void told.push('held'),
        pending: () => undefined,
        approved: () => void told.push('approved'),
      },
    });
    expect(verdict).toMatchObject({
      allowed: true,
      decision: { action: 'allow', rule: 'ask', reason: 'approved by alice' },
    });
    expect(b.events[0]!.data).toMatchObject({ decision: 'allow', rule: 'ask', approval_id: 'apr_1' });
    expect(told).toEqual(['held', 'approved']);
  });

  it('names each way a hold can end in a refusal', async () => {
    const outcomes: [HoldResult, string, string][] = [
      [
        { outcome: 'denied', approvalId: 'a', decidedBy: ['bob'], reason: 'not now' },
        'approval-denied',
        'approval denied by bob: not now (rule "ask")',
      ],
      [
        { outcome: 'timed-out', approvalId: 'a', decidedBy: [], reason: null },
        'approval-timed-out',
        'approval timed out (rule "ask")',
      ],
      [
        { outcome: 'cancelled', approvalId: null, decidedBy: [], reason: null },
        'cancelled',
        'the held command was cancelled by its client',
      ],
    ];
    for (const [result, code, reason] of outcomes) {
      const b = bed({ decide: () => REVIEW, hold: async () => result });
      await expect(b.enforce()).resolves.toMatchObject({ allowed: false, code, decision: { reason } });
    }
    const failing = bed({
      decide: () => REVIEW,
      hold: async () => {
        throw new Error('broker down');
      },
    });
    await expect(failing.enforce()).resolves.toMatchObject({ code: 'approvals-failed' });
  });

  it('writes an allowed command of audit mode "refused" only when committed later', async () => {
    const b = bed();
    expect(b.enforce({ audit: 'refused' }, 'best-effort')).toMatchObject({ allowed: true });
    expect(b.events).toEqual([]);
  });

  it('refuses what the adapter cannot carry even when a rule allows it', () => {
    const b = bed();
    expect(b.enforce({ unsupported: 'agent forwarding is not supported' })).toMatchObject({
      allowed: false,
      code: 'unsupported',
      decision: { rule: 'ok', reason: 'agent forwarding is not supported' },
    });
  });
});

describe('record', () => {
  it('is false when a detail event fails on an audit-required connection, true on best-effort', async () => {
    const enforcer = createEnforcer({
      engine: { decide: () => ALLOW },
      recorder: {
        record: async () => {
          throw new Error('store down');
        },
      },
      log: () => undefined,
    });
    const data = { channel: 'c', code: 0 };
    expect(await enforcer.record(context('required'), 'ssh.exit', data)).toBe(false);
    expect(await enforcer.record(context('best-effort'), 'ssh.exit', data)).toBe(true);
  });
});
