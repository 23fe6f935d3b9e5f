import type { ApprovalBroker } from '../approvals/broker.ts';
import type { Recorder } from '../audit/recorder.ts';
import type { AuditMode } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { Action, Decision } from '../policy/actions-and-decisions.ts';
import type { AuditEventData, AuditEventType } from '../../wire/audit-events.ts';
import { holdForApproval, type HoldControl } from './approval-hold.ts';
import { allowed, ENGINE_ERROR_RULE, REFUSAL, refused, type Verdict } from './verdict.ts';
import { auditRefusalMessage } from '../audit/audit-refusal.ts';

/** Event types an adapter writes for a connection (the session's own events are the recorder's). */
export type ConnectionEventType = Exclude<AuditEventType, 'session.start' | 'session.end' | 'seal'>;

/** One client connection as the core sees it; the adapter builds it once per connection. */
export interface EnforcementContext {
  session: SessionContext;
  connection: { name: string; audit: AuditMode };
  /** The adapter's type, the `protocol` label of the decision metrics. */
  protocol: string;
}

/** A command's audit event without the decision fields, which the core adds. */
export interface CommandEvent {
  type: ConnectionEventType;
  data: Record<string, unknown>;
}

/** What the core needs about one command besides its action. */
export interface EnforceCall {
  /** The raw command text a held command's approval is bound to (hashed). */
  text: string;
  /** The text with content detectors applied, shown to reviewers. Asked only when the command is held. */
  shown(): string;
  /**
   * The command's audit event; asked once, when it is written. Absent when the action has no event of
   * its own (an SSH env request is recorded in the exec that follows).
   */
  event?(): CommandEvent;
  /** `refused`: an allowed command's event is written later with {@link Enforcer.commit} (PostgreSQL writes a Parse's at its Bind). */
  audit?: 'always' | 'refused';
  /** How a held command talks to its client; without it a `review` decision is refused. */
  hold?: HoldControl;
  /** Set when the adapter cannot carry the request whatever policy says: anything but a deny becomes one with this reason. */
  unsupported?: string;
  /**
   * The command does not run yet and its values are not known (a PostgreSQL Parse): a `review` is
   * not held now but answered as an allowed verdict carrying the `review` decision, and the adapter
   * enforces again where the values are known (each Bind), so an approval covers exactly what
   * runs. Nothing is written for such a verdict.
   */
  reviewLater?: boolean;
}

/**
 * The one enforcement path of every protocol. Adapters turn their wire into an {@link Action} and
 * turn the {@link Verdict} back into their wire; everything between is here.
 */
export interface Enforcer {
  /**
   * Decides `action` (an engine throw is a deny, rule `engine-error`), holds a `review` through the
   * approvals broker, writes the command's event in the connection's audit mode and counts the
   * decision. Synchronous unless it has to wait: for a hold, or for the event of an allowed command
   * on an `audit: required` connection (nothing is forwarded before its event exists).
   */
  enforce(context: EnforcementContext, action: Action, call: EnforceCall): Verdict | Promise<Verdict>;
  /** Writes the event of a verdict reached earlier (PostgreSQL: a Parse decided, audited at Bind) the way `enforce` would. */
  commit(context: EnforcementContext, verdict: Verdict, event: CommandEvent): Verdict | Promise<Verdict>;
  /**
   * Writes any other event of a connection (results, output, exits). Resolves false when it failed and
   * the connection requires audit, so the adapter stops what it is doing; never rejects.
   */
  record<T extends ConnectionEventType>(
    context: EnforcementContext,
    type: T,
    data: AuditEventData[T],
  ): Promise<boolean>;
}

/** The parts the core is built from, passed in by `startGateway` (or a test). */
export interface EnforcerDeps {
  engine: Pick<PolicyEngine, 'decide'>;
  /** Without a broker every `review` is refused. */
  broker?: Pick<ApprovalBroker, 'hold'>;
  recorder: Pick<Recorder, 'record'>;
  /** Counts each decision (the gateway's `gatehouse_statements_total`). */
  metrics?: { statements: { inc(labels: { protocol: string; decision: string }): void } };
  log(message: string): void;
  /**
   * When given, a command of a session past its `expiresAt` is denied (rule `session-expired`) even
   * if the timer that closes its connections has not fired yet: nothing runs after expiry.
   */
  clock?: { now(): Date };
}

/** The rule id of a command refused because its session expired. */
export const SESSION_EXPIRED_RULE = 'session-expired';

/** Whether a connection refuses commands whose event cannot be written: the one place the audit mode is read. */
export function auditRequired(context: EnforcementContext): boolean {
  return context.connection.audit !== 'best-effort';
}

const AUDIT_UNAVAILABLE =
  'the audit log is unavailable and this connection requires it, so commands are refused until it is back';

const ENGINE_ERROR: Decision = Object.freeze({
  action: 'deny',
  rule: ENGINE_ERROR_RULE,
  reason: 'the policy engine could not decide; denied (fail closed)',
});

export function createEnforcer(deps: EnforcerDeps): Enforcer {
  return new CoreEnforcer(deps);
}

class CoreEnforcer implements Enforcer {
  constructor(private readonly deps: EnforcerDeps) {}

  enforce(context: EnforcementContext, action: Action, call: EnforceCall): Verdict | Promise<Verdict> {
    const expired = this.expired(context);
    if (expired) return this.finish(context, call, expired);
    const decision = this.decide(context, action);
    if (call.unsupported !== undefined && decision.action !== 'deny')
      return this.finish(context, call, refused(REFUSAL.unsupported, decision, call.unsupported));
    switch (decision.action) {
      case 'allow':
        return this.finish(context, call, allowed(decision));
      case 'review':
        return call.reviewLater ? allowed(decision) : this.review(context, call, decision);
      default: {
        const code = decision === ENGINE_ERROR ? REFUSAL.engineError : REFUSAL.denied;
        return this.finish(context, call, refused(code, decision));
      }
    }
  }

  commit(context: EnforcementContext, reached: Verdict, event: CommandEvent): Verdict | Promise<Verdict> {
    const verdict = (reached.allowed && this.expired(context)) || reached;
    const { decision, approval } = verdict;
    const data = { ...event.data, decision: decision.action, rule: decision.rule, reason: decision.reason };
    if (approval) Object.assign(data, { approval_id: approval.id });
    const write = this.deps.recorder.record(context.session.sessionId, event.type, data as never);
    if (!verdict.allowed || !auditRequired(context)) {
      const mode = verdict.allowed ? 'best-effort' : 'refused';
      write.catch((error: Error) => this.deps.log(`audit of ${event.type} (${mode}) failed: ${error.message}`));
      return verdict;
    }
    return write.then(
      () => verdict,
      (error: Error) => {
        this.deps.log(`audit store unavailable: ${error.message}`);
        return refused(REFUSAL.auditUnavailable, decision, auditRefusalMessage(error) ?? AUDIT_UNAVAILABLE, approval);
      },
    );
  }

  async record<T extends ConnectionEventType>(
    context: EnforcementContext,
    type: T,
    data: AuditEventData[T],
  ): Promise<boolean> {
    try {
      await this.deps.recorder.record(context.session.sessionId, type, data);
      return true;
    } catch (error) {
      this.deps.log(`audit write of ${type} failed: ${(error as Error).message}`);
      return !auditRequired(context);
    }
  }

  /** The refusal of a command whose session is past its expiry, or null. */
  private expired(context: EnforcementContext): Verdict | null {
    const now = this.deps.clock?.now().getTime();
    if (now === undefined || now < context.session.expiresAt.getTime()) return null;
    const reason = `the session expired at ${context.session.expiresAt.toISOString()}; start a new one`;
    return refused(REFUSAL.denied, { action: 'deny', rule: SESSION_EXPIRED_RULE, reason });
  }

  private decide(context: EnforcementContext, action: Action): Decision {
    let decision: Decision;
    try {
      decision = this.deps.engine.decide(action);
    } catch (error) {
      this.deps.log(`policy engine failed on ${action.type} (${context.connection.name}): ${(error as Error).message}`);
      decision = ENGINE_ERROR;
    }
    this.deps.metrics?.statements.inc({ protocol: context.protocol, decision: decision.action });
    return decision;
  }

  private finish(context: EnforcementContext, call: EnforceCall, verdict: Verdict): Verdict | Promise<Verdict> {
    if (!call.event || (verdict.allowed && call.audit === 'refused')) return verdict;
    return this.commit(context, verdict, call.event());
  }

  private async review(context: EnforcementContext, call: EnforceCall, decision: Decision): Promise<Verdict> {
    const subject = {
      session: context.session,
      connection: context.connection.name,
      text: call.text,
      shown: call.shown(),
    };
    const verdict = await holdForApproval(this.deps.broker, subject, decision, call.hold, this.deps.log);
    return this.finish(context, call, verdict);
  }
}
