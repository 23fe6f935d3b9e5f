import { createHash, randomBytes } from 'node:crypto';
import type { ApprovalRecord } from '../store/store.ts';
import type { ReviewSettings } from '../policy/actions-and-decisions.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { ApprovalBinding, ApprovalPolicy, ApprovalView } from '../../wire/approvals.ts';

/**
 * What is kept in an approval's `settings` column: the rule's review settings, the run it is
 * bound to, and which gateway replica holds the client, so a restarted replica can tell its own
 * orphans (abandoned) from requests another replica is still holding.
 */
export interface ApprovalSettings {
  policy: ApprovalPolicy;
  binding: ApprovalBinding;
  reason: string;
  replicaId: string;
}

/** SHA-256 of the statement text, the value an approval is bound to. */
export function hashStatement(statement: string): string {
  return createHash('sha256').update(statement).digest('hex');
}

/** The run facts an approval is bound to, taken from the session's OIDC claims. */
export function bindingOf(session: SessionContext): ApprovalBinding {
  const claims = session.identity.claims;
  const text = (name: string): string =>
    claims[name] === undefined || claims[name] === null ? '' : String(claims[name]);
  return {
    repository: text('repository'),
    repositoryId: text('repository_id'),
    sha: text('sha'),
    ref: text('ref'),
    runId: text('run_id'),
    runAttempt: text('run_attempt'),
    actor: text('actor'),
    actorId: text('actor_id'),
    workflow: text('workflow'),
  };
}

export function policyOf(review: ReviewSettings): ApprovalPolicy {
  return {
    minPermission: review.minPermission,
    teams: [...review.teams],
    approvals: Math.max(1, Math.floor(review.approvals)),
    ...(review.windowSeconds ? { windowSeconds: review.windowSeconds } : {}),
  };
}

/** Reads back the settings written by the broker; null when the record was not written by it. */
export function settingsOf(record: ApprovalRecord): ApprovalSettings | null {
  const s = record.settings as Partial<ApprovalSettings>;
  if (!s || typeof s !== 'object' || !s.policy || !s.binding || typeof s.replicaId !== 'string') return null;
  return s as ApprovalSettings;
}

/** The public shape of an approval (no secrets: the statement is already masked). */
export function viewOf(record: ApprovalRecord): ApprovalView {
  const settings = settingsOf(record);
  return {
    id: record.id,
    status: record.status,
    sessionId: record.sessionId,
    connection: record.connection,
    statement: record.statement,
    statementHash: record.statementHash,
    rule: record.rule,
    requestedAt: record.requestedAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    decidedAt: record.decidedAt ? record.decidedAt.toISOString() : null,
    decidedBy: [...record.decidedBy],
    reason: record.reason,
    binding: settings?.binding ?? null,
    policy: settings?.policy ?? null,
  };
}

/** The gateway's approval id generator: short, unguessable, safe in a comment command and a URL. */
export function randomApprovalId(): string {
  return `apr_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;
}
