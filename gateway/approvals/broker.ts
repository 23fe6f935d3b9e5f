import type { ApprovalRecord, Store } from '../store/store.ts';
import type { Decision } from '../policy/actions-and-decisions.ts';
import type { Clock, SessionContext } from '../identity/session-context.ts';
import type { ApprovalNotifier } from './notifier.ts';
import { bindingOf, policyOf, settingsOf, type ApprovalSettings } from './approval-record.ts';
import { createApprovalWindows } from './approval-windows.ts';
import { approveCommandFor, GATEWAY_APP_ROUTES, routePath, type ApprovalStatus } from '../../wire/approvals.ts';
import type { ApprovalDecidedData, ApprovalRequestedData } from '../../wire/audit-events.ts';

/** A statement that a `review` decision holds, with everything reviewers are shown. */
export interface HoldRequest {
  session: SessionContext;
  connection: string;
  /** Masked statement text shown to reviewers. */
  statement: string;
  statementHash: string;
  /** The engine's `review` decision (its `review` settings say who may approve and for how long). */
  decision: Decision;
}

/** Where to approve, for the adapter to tell the client (a PostgreSQL NOTICE). */
export interface PendingApproval {
  id: string;
  approveUrl: string;
  approveCommand: string;
  /** What the client is told, true for this gateway's configuration (the App's pull request, or the operator CLI). */
  howToApprove: string;
  expiresAt: Date;
}

/** How the adapter follows a hold: told where to approve (to tell its client), and able to cancel when the client goes away. */
export interface HoldOptions {
  onPending?: (approval: PendingApproval) => void;
  /** Aborted when the client cancels (CancelRequest) or goes away. */
  signal?: AbortSignal;
}

export const HOLD_OUTCOMES = ['approved', 'denied', 'timed-out', 'cancelled'] as const;
/** The adapter maps these: approved → run, denied/timed-out → 42501, cancelled → 57014. */
export type HoldOutcome = (typeof HOLD_OUTCOMES)[number];

/** How a hold ended, as a value the adapter turns into its protocol's answer; who decided is kept for the audit log. */
export interface HoldResult {
  outcome: HoldOutcome;
  /** Null when nothing was stored (an open window, or a decision without review settings). */
  approvalId: string | null;
  decidedBy: string[];
  reason: string | null;
}

/** A reviewer's decision; `expect` lets the app prove it approves the very statement and run it showed on the pull request. */
export interface DecideInput {
  approved: boolean;
  by: string[];
  reason?: string;
  /** When given, the decision only applies if the approval is bound to exactly these values. */
  expect?: { statementHash: string; sha: string; runId: string; runAttempt: string };
  /** The app sent this decision itself, so it need not be told about it. */
  fromApp?: boolean;
}

/** Whether a decision was taken, as a value the CLI and the app routes answer with (404 / 409) rather than an exception. */
export type DecideResult =
  | { ok: true; status: ApprovalStatus }
  | { ok: false; code: 'not-found' | 'not-pending' | 'binding-mismatch'; message: string };

/** The broker's store, clock, notifier and id source, passed in so tests and replicas can choose them. */
export interface ApprovalBrokerOptions {
  store: Store;
  clock: Clock;
  notifier: ApprovalNotifier;
  /** Public URL of the gateway, for the approve link. */
  publicUrl: string;
  ids: { approvalId(): string };
  /** Stable name of this gateway replica (e.g. host:port); a restart with the same name abandons its orphans. */
  replicaId?: string;
  /** Safety net in case a store notification is lost. */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
  /** The audit recorder's `record`, so each session's log shows its approvals. */
  audit?: ApprovalAudit;
  /** Whether a GitHub App is told about holds (a notify URL is set); decides what {@link PendingApproval.howToApprove} says. */
  appNotified?: boolean;
}

/** Matches the audit recorder's `record` for the two approval event types. */
export interface ApprovalAudit {
  record(sessionId: string, type: 'approval.requested', data: ApprovalRequestedData): Promise<void>;
  record(sessionId: string, type: 'approval.decided', data: ApprovalDecidedData): Promise<void>;
}

/** The approvals broker: adapters hold statements on it, the app and the CLI decide them, a restart recovers them. */
export interface ApprovalBroker {
  hold(request: HoldRequest, options?: HoldOptions): Promise<HoldResult>;
  decide(id: string, input: DecideInput): Promise<DecideResult>;
  /** Call on start: re-arms timeouts of stored pending approvals; this replica's orphans become `abandoned`. */
  recoverPending(): Promise<{ rearmed: number; abandoned: number; timedOut: number }>;
  isWindowOpen(sessionId: string, rule: string): boolean;
  /** Stops timers and listeners; holds still waiting resolve `cancelled` while their records stay pending. */
  close(): void;
}

/** Node timers overflow past 2^31-1 ms (about 24.8 days); longer holds are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Final = Pick<ApprovalRecord, 'status' | 'decidedBy' | 'reason'>;
type Waiter = { resolve: (final: Final) => void };

/** Holds statements until reviewers decide, the rule's timeout passes, or the client goes away. */
export function createApprovalBroker(options: ApprovalBrokerOptions): ApprovalBroker {
  const { store, clock, notifier, ids } = options;
  const replicaId = options.replicaId ?? 'gateway';
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;
  const onError = options.onError ?? (() => undefined);
  const waiters = new Map<string, Waiter>();
  const timers = new Map<string, NodeJS.Timeout>();
  const windows = createApprovalWindows(clock);
  let closed = false;
  let poller: NodeJS.Timeout | undefined;
  const unsubscribe = store.onApprovalDecided((id) => void settle(id));

  async function settle(id: string): Promise<void> {
    if (!waiters.has(id)) return;
    const record = await store.getApproval(id).catch((error: unknown) => {
      onError(error);
      return null;
    });
    if (record && record.status !== 'pending') waiters.get(id)?.resolve(record);
  }

  function tell(record: ApprovalRecord): Promise<void> {
    return notifier
      .notify({
        type: 'approval.resolved',
        id: record.id,
        status: record.status,
        decidedBy: record.decidedBy,
        reason: record.reason,
      })
      .catch(onError);
  }

  async function finish(id: string, status: 'timed-out' | 'cancelled' | 'abandoned', reason: string): Promise<void> {
    const moved = await store.decideApproval(id, { status, decidedBy: [], reason }, clock.now());
    const record = await store.getApproval(id);
    if (moved && record) void tell(record);
    if (record && record.status !== 'pending') waiters.get(id)?.resolve(record);
  }

  function arm(id: string, expiresAt: Date): void {
    const ms = Math.max(0, expiresAt.getTime() - clock.now().getTime());
    timers.set(
      id,
      setTimeout(
        () => {
          timers.delete(id);
          if (expiresAt.getTime() > clock.now().getTime()) return arm(id, expiresAt);
          finish(id, 'timed-out', 'approval timed out').catch(onError);
        },
        Math.min(ms, MAX_TIMER_MS),
      ),
    );
  }

  function ensurePoller(): void {
    if (poller || closed) return;
    poller = setInterval(() => {
      if (waiters.size === 0) {
        clearInterval(poller);
        poller = undefined;
        return;
      }
      for (const id of waiters.keys()) void settle(id);
    }, pollIntervalMs);
    poller.unref();
  }

  /** A window another replica opened for this session and rule (only asked when the rule grants windows). */
  async function sharedWindow(sessionId: string, rule: string) {
    const record = await store.findApprovalWindow(sessionId, rule, clock.now()).catch((error: unknown) => {
      onError(error);
      return null;
    });
    return record ? { approvalId: record.id, decidedBy: record.decidedBy } : null;
  }

  async function hold(request: HoldRequest, holdOptions: HoldOptions = {}): Promise<HoldResult> {
    const { session, decision } = request;
    const review = decision.review;
    if (decision.action !== 'review' || !review) {
      return {
        outcome: 'denied',
        approvalId: null,
        decidedBy: [],
        reason: `rule ${decision.rule} asked for review without review settings; add review: to the rule`,
      };
    }
    const open =
      windows.find(session.sessionId, decision.rule) ??
      (policyOf(review).windowSeconds ? await sharedWindow(session.sessionId, decision.rule) : null);
    if (open)
      return {
        outcome: 'approved',
        approvalId: open.approvalId,
        decidedBy: open.decidedBy,
        reason: 'approval window open',
      };
    if (holdOptions.signal?.aborted || closed)
      return { outcome: 'cancelled', approvalId: null, decidedBy: [], reason: 'client went away' };

    const id = ids.approvalId();
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + review.timeoutSeconds * 1000);
    const policy = policyOf(review);
    const settings: ApprovalSettings = { policy, binding: bindingOf(session), reason: decision.reason, replicaId };
    const record: ApprovalRecord = {
      id,
      sessionId: session.sessionId,
      connection: request.connection,
      statementHash: request.statementHash,
      statement: request.statement,
      rule: decision.rule,
      status: 'pending',
      requestedAt: now,
      expiresAt,
      decidedAt: null,
      decidedBy: [],
      reason: null,
      settings: settings as unknown as Record<string, unknown>,
    };
    const decided = new Promise<Final>((resolve) => waiters.set(id, { resolve }));
    try {
      await store.createApproval(record);
    } catch (error) {
      waiters.delete(id);
      onError(error);
      return {
        outcome: 'denied',
        approvalId: null,
        decidedBy: [],
        reason: 'the approval could not be stored, so the statement is refused; check the gateway store',
      };
    }
    options.audit
      ?.record(session.sessionId, 'approval.requested', {
        approval_id: id,
        statement: request.statement,
        rule: decision.rule,
      })
      .catch(onError);
    arm(id, expiresAt);
    ensurePoller();
    // After close() the record stays pending (a restart abandons it), whatever its client does then.
    const onAbort = (): void => {
      if (!closed) void finish(id, 'cancelled', 'client cancelled the statement').catch(onError);
    };
    holdOptions.signal?.addEventListener('abort', onAbort, { once: true });
    if (holdOptions.signal?.aborted) onAbort();
    const approveUrl = `${publicUrl}${routePath(GATEWAY_APP_ROUTES.approval, id)}`;
    const approveCommand = approveCommandFor(id);
    try {
      const howToApprove = howToApproveText(id, options.appNotified ?? false);
      holdOptions.onPending?.({ id, approveUrl, approveCommand, howToApprove, expiresAt });
    } catch (error) {
      onError(error);
    }
    notifier
      .notify({
        type: 'approval.requested',
        id,
        sessionId: session.sessionId,
        connection: request.connection,
        statement: request.statement,
        statementHash: request.statementHash,
        rule: decision.rule,
        reason: decision.reason,
        requestedAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        approveUrl,
        approveCommand,
        binding: settings.binding,
        policy,
      })
      .catch(onError);

    const final = await decided;
    waiters.delete(id);
    clearTimeout(timers.get(id));
    timers.delete(id);
    holdOptions.signal?.removeEventListener('abort', onAbort);
    const outcome: HoldOutcome =
      final.status === 'approved'
        ? 'approved'
        : final.status === 'timed-out'
          ? 'timed-out'
          : final.status === 'denied'
            ? 'denied'
            : 'cancelled';
    options.audit
      ?.record(session.sessionId, 'approval.decided', {
        approval_id: id,
        status: final.status,
        decided_by: final.decidedBy,
        reason: final.reason,
      })
      .catch(onError);
    if (outcome === 'approved' && policy.windowSeconds)
      windows.open(session.sessionId, decision.rule, policy.windowSeconds, id, final.decidedBy);
    return { outcome, approvalId: id, decidedBy: final.decidedBy, reason: final.reason };
  }

  async function decide(id: string, input: DecideInput): Promise<DecideResult> {
    const record = await store.getApproval(id);
    if (!record)
      return {
        ok: false,
        code: 'not-found',
        message: `approval ${id} does not exist; check the id in the request comment`,
      };
    if (record.status !== 'pending')
      return { ok: false, code: 'not-pending', message: `approval ${id} is already ${record.status}` };
    if (input.expect) {
      const binding = settingsOf(record)?.binding;
      const e = input.expect;
      if (
        !binding ||
        record.statementHash !== e.statementHash ||
        binding.sha !== e.sha ||
        binding.runId !== e.runId ||
        binding.runAttempt !== e.runAttempt
      ) {
        return {
          ok: false,
          code: 'binding-mismatch',
          message: `approval ${id} is bound to another statement or run; approve the request that is shown on the pull request`,
        };
      }
    }
    const status = input.approved ? 'approved' : 'denied';
    const moved = await store.decideApproval(
      id,
      { status, decidedBy: [...new Set(input.by)], reason: input.reason ?? null },
      clock.now(),
    );
    if (!moved) {
      const now = await store.getApproval(id);
      return { ok: false, code: 'not-pending', message: `approval ${id} is already ${now?.status ?? 'gone'}` };
    }
    void settle(id);
    if (!input.fromApp) {
      const after = await store.getApproval(id);
      if (after) await tell(after);
    }
    return { ok: true, status };
  }

  async function recoverPending(): Promise<{ rearmed: number; abandoned: number; timedOut: number }> {
    const counts = { rearmed: 0, abandoned: 0, timedOut: 0 };
    const now = clock.now().getTime();
    for (const record of await store.listPendingApprovals()) {
      if (waiters.has(record.id) || timers.has(record.id)) continue;
      if (record.expiresAt.getTime() <= now) {
        await finish(record.id, 'timed-out', 'approval timed out');
        counts.timedOut++;
      } else if ((settingsOf(record)?.replicaId ?? replicaId) === replicaId) {
        await finish(record.id, 'abandoned', 'the gateway restarted and the client connection is gone');
        counts.abandoned++;
      } else {
        arm(record.id, record.expiresAt);
        counts.rearmed++;
      }
    }
    return counts;
  }

  function close(): void {
    closed = true;
    unsubscribe();
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    if (poller) clearInterval(poller);
    for (const waiter of waiters.values()) {
      waiter.resolve({ status: 'cancelled', decidedBy: [], reason: 'gateway shutting down' });
    }
    waiters.clear();
  }

  return {
    hold,
    decide,
    recoverPending,
    isWindowOpen: (sessionId, rule) => windows.find(sessionId, rule) !== null,
    close,
  };
}

/**
 * The approval instructions a held client sees. Only routes that can approve are named: the pull
 * request when a GitHub App is told about holds, and always the operator CLI on the gateway host.
 */
export function howToApproveText(id: string, appNotified: boolean): string {
  const cli = `gatehouse approvals approve ${id}`;
  return appNotified
    ? `approve on the pull request (its Gatehouse check, or comment "${approveCommandFor(id)}"), or an operator runs: ${cli}`
    : `an operator approves with: ${cli} (no GitHub App is configured, so nothing is posted on the pull request)`;
}
