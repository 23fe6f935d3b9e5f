import type { Decision } from '../policy/actions-and-decisions.ts';

/**
 * Why a command was refused, as a stable code every adapter maps to its own protocol's answer
 * (a SQLSTATE, an exit status, an HTTP status). New reasons are added here, once.
 */
export const REFUSAL = {
  /** A rule (or the default deny) denied it. */
  denied: 'denied',
  /** A reviewer denied the held command. */
  approvalDenied: 'approval-denied',
  /** Nobody decided before the rule's review timeout. */
  approvalTimedOut: 'approval-timed-out',
  /** The client cancelled the held command or went away. */
  cancelled: 'cancelled',
  /** A rule asked for review, but the gateway has no approvals broker, or this request cannot wait for one. */
  noApprovals: 'no-approvals',
  /** The approvals broker failed while holding the command. */
  approvalsFailed: 'approvals-failed',
  /** The connection requires audit and the command's event could not be written. */
  auditUnavailable: 'audit-unavailable',
  /** The policy engine threw: nothing it could decide, so nothing runs. */
  engineError: 'engine-error',
  /** The adapter cannot carry this request whatever policy says (SSH agent forwarding, ...). */
  unsupported: 'unsupported',
} as const;

export type RefusalCode = (typeof REFUSAL)[keyof typeof REFUSAL];

/** The rule id of a denial the core makes itself because the engine threw. */
export const ENGINE_ERROR_RULE = 'engine-error';

/** An approval that decided (or would have decided) a held command, for the adapter and the audit event. */
export interface ApprovalOutcome {
  id: string;
  decidedBy: readonly string[];
}

/** The command may run: the decision that let it (and the approval, when it was held). */
export interface Allowed {
  readonly allowed: true;
  readonly decision: Decision;
  readonly approval?: ApprovalOutcome;
}

/**
 * The command must not run. `decision` is the final one (action `deny`) with the rule and a short
 * protocol-neutral `reason`; `message` is the one-line sentence clients are shown, `hint` the fix.
 */
export interface Refused {
  readonly allowed: false;
  readonly code: RefusalCode;
  readonly decision: Decision;
  readonly message: string;
  readonly hint?: string;
  readonly approval?: ApprovalOutcome;
}

/** What `enforce` answers: a value the adapter only translates into its wire. */
export type Verdict = Allowed | Refused;

const CHANGE_RULE_HINT = 'ask for the rule to be changed, or for this command to run with approval (action: review)';

/** The hint per refusal code (one table, so every protocol shows the same fix). */
const HINTS: Partial<Record<RefusalCode, string>> = {
  denied: CHANGE_RULE_HINT,
  'approval-denied': CHANGE_RULE_HINT,
  'approval-timed-out': CHANGE_RULE_HINT,
  'no-approvals': CHANGE_RULE_HINT,
  'audit-unavailable': 'an operator can set `audit: best-effort` on this connection to relax this',
  'engine-error': 'this is a gateway fault, not a policy decision; the gateway log has the cause',
};

/** An allowed verdict. */
export function allowed(decision: Decision, approval?: ApprovalOutcome): Allowed {
  return approval ? { allowed: true, decision, approval } : { allowed: true, decision };
}

/**
 * A refused verdict. It keeps the rule of `decision` (what the engine or the hold decided) and
 * gives the final decision action `deny` and `reason`. Clients see `gatehouse: <reason>`, or for
 * a rule's own denial `gatehouse: denied by rule "<rule>": <reason>`.
 */
export function refused(
  code: RefusalCode,
  decision: Decision,
  reason: string = decision.reason,
  approval?: ApprovalOutcome,
): Refused {
  const message =
    code === REFUSAL.denied ? `gatehouse: denied by rule "${decision.rule}": ${reason}` : `gatehouse: ${reason}`;
  const verdict: Refused = {
    allowed: false,
    code,
    decision: { action: 'deny', rule: decision.rule, reason },
    message,
    hint: HINTS[code],
  };
  return approval ? { ...verdict, approval } : verdict;
}
