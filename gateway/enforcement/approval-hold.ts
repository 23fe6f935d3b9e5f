import { createHash } from 'node:crypto';
import type { ApprovalBroker, HoldResult, PendingApproval } from '../approvals/broker.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { Decision } from '../policy/actions-and-decisions.ts';
import { allowed, REFUSAL, refused, type Verdict } from './verdict.ts';

/**
 * How a held command talks to its waiting client. The adapter supplies the words (a PostgreSQL
 * NOTICE, a line on SSH stderr); the core decides when they are said.
 */
export interface HoldControl {
  /** Aborted when the client cancels or goes away while the command is held. */
  signal?: AbortSignal;
  /** Before the broker is asked: the command is held by `decision`. */
  held?(decision: Decision): void;
  /** The approval request exists: tell the client where to approve. */
  pending(approval: PendingApproval, decision: Decision): void;
  /** The approval arrived and the command runs now. */
  approved?(decision: Decision): void;
}

/** What the broker is asked to hold: the command as the approval binds to it and as reviewers see it. */
export interface HoldSubject {
  session: SessionContext;
  connection: string;
  /** Raw text; its hash binds the approval to exactly this command. */
  text: string;
  /** The text with the connection's content detectors applied, shown to reviewers. */
  shown: string;
}

/**
 * Holds a `review` decision through the approvals broker and turns the outcome into a verdict.
 * No broker, no way to wait (`control` absent) or a broker failure is a refusal: fail closed.
 */
export async function holdForApproval(
  broker: Pick<ApprovalBroker, 'hold'> | undefined,
  subject: HoldSubject,
  decision: Decision,
  control: HoldControl | undefined,
  log: (message: string) => void,
): Promise<Verdict> {
  if (!broker || !control) {
    const why = broker ? 'this request cannot wait for one' : 'approvals are not configured on this gateway';
    return refused(REFUSAL.noApprovals, decision, `rule "${decision.rule}" requires approval, but ${why}`);
  }
  control.held?.(decision);
  let result: HoldResult;
  try {
    result = await broker.hold(
      {
        session: subject.session,
        connection: subject.connection,
        statement: subject.shown,
        statementHash: createHash('sha256').update(subject.text).digest('hex'),
        decision,
      },
      { signal: control.signal, onPending: (approval) => control.pending(approval, decision) },
    );
  } catch (error) {
    log(`approvals broker failed: ${(error as Error).message}`);
    return refused(REFUSAL.approvalsFailed, decision, 'the approvals broker failed; denied (fail closed)');
  }
  return verdictOf(result, decision, control);
}

function verdictOf(result: HoldResult, decision: Decision, control: HoldControl): Verdict {
  const approval = result.approvalId ? { id: result.approvalId, decidedBy: result.decidedBy } : undefined;
  const by = result.decidedBy.length ? ` by ${result.decidedBy.join(', ')}` : '';
  const rule = `(rule "${decision.rule}")`;
  switch (result.outcome) {
    case 'approved': {
      const final: Decision = { action: 'allow', rule: decision.rule, reason: `approved${by}` };
      control.approved?.(final);
      return allowed(final, approval);
    }
    case 'timed-out':
      return refused(REFUSAL.approvalTimedOut, decision, `approval timed out ${rule}`, approval);
    case 'cancelled':
      return refused(REFUSAL.cancelled, decision, 'the held command was cancelled by its client', approval);
    default:
      return refused(
        REFUSAL.approvalDenied,
        decision,
        `approval denied${by}${result.reason ? `: ${result.reason}` : ''} ${rule}`,
        approval,
      );
  }
}
