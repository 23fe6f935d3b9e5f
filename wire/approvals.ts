/**
 * What the gateway and the GitHub App say to each other, and how they prove it. Both runtimes
 * import this module and nothing else of each other, so the messages and the signature scheme
 * cannot drift apart.
 *
 * Every message travels as a JSON body signed with HMAC-SHA256 over `<timestamp>.<body>` using
 * the shared `approvals.secret`. Requests without a body (GET) sign `<timestamp>.GET <path>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type { SessionLog } from './session-log.ts';

export const APPROVAL_HEADERS = {
  timestamp: 'x-gatehouse-timestamp',
  signature: 'x-gatehouse-signature',
} as const;

/** How far a signed message's timestamp may be from the receiver's clock. */
export const SIGNATURE_MAX_SKEW_SECONDS = 300;

/** Paths of the gateway endpoints the app calls (`:id` is the approval or session id). */
export const GATEWAY_APP_ROUTES = {
  approval: '/v1/approvals/:id',
  decision: '/v1/approvals/:id/decision',
  closeJob: '/v1/app/jobs/close',
  sessionLog: '/v1/sessions/:id/log',
} as const;

/** Where the app listens for the gateway's approval messages (relative to the app's base URL). */
export const APP_NOTIFY_PATH = '/gatehouse/approvals';

/** The GitHub permission ladder, lowest first, so "at least write" is an index comparison. */
export const PERMISSION_LEVELS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

/** Facts of the job that asked, copied from its OIDC claims so the app can find the PR and forbid self-approval. */
export interface ApprovalBinding {
  repository: string;
  repositoryId: string;
  sha: string;
  ref: string;
  runId: string;
  runAttempt: string;
  actor: string;
  actorId: string;
  workflow: string;
}

/** Who may answer, copied from the rule's review settings. */
export interface ApprovalPolicy {
  minPermission: PermissionLevel;
  teams: string[];
  approvals: number;
  windowSeconds?: number;
}

/** Gateway → app: a statement is held and waits for reviewers. */
export interface ApprovalRequestedMessage {
  type: 'approval.requested';
  id: string;
  sessionId: string;
  connection: string;
  /** Already masked: reviewers never see secrets from the statement. */
  statement: string;
  statementHash: string;
  rule: string;
  reason: string;
  requestedAt: string;
  expiresAt: string;
  /** Gateway URL of this approval (`GET /v1/approvals/:id`). */
  approveUrl: string;
  approveCommand: string;
  binding: ApprovalBinding;
  policy: ApprovalPolicy;
}

/** Gateway → app: the approval ended without the app (timeout, cancel, local CLI, abandoned). */
export interface ApprovalResolvedMessage {
  type: 'approval.resolved';
  id: string;
  status: ApprovalStatus;
  decidedBy: string[];
  reason: string | null;
}

/** Every message the gateway sends the app; `type` tells them apart. */
export type ApprovalMessage = ApprovalRequestedMessage | ApprovalResolvedMessage;

/** Where an approval stands; everything but `pending` is final. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'timed-out' | 'cancelled' | 'abandoned';

/**
 * App → gateway (`POST /v1/approvals/:id/decision`): the reviewers' answer. It repeats the
 * binding the reviewers saw, so a decision can only release the exact statement of the exact run.
 */
export interface ApprovalDecisionMessage {
  id: string;
  approved: boolean;
  /** Logins of the distinct reviewers who decided. */
  by: string[];
  reason?: string;
  statementHash: string;
  sha: string;
  runId: string;
  runAttempt: string;
  /** Random, single use: a captured decision cannot be played again. */
  nonce: string;
}

/** Answer of `GET /v1/approvals/:id` and of a decision POST. */
export interface ApprovalView {
  id: string;
  status: ApprovalStatus;
  sessionId: string;
  connection: string;
  statement: string;
  statementHash: string;
  rule: string;
  requestedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string[];
  reason: string | null;
  binding: ApprovalBinding | null;
  policy: ApprovalPolicy | null;
}

/** App → gateway (`POST /v1/app/jobs/close`): a workflow job ended; close its sessions. */
export interface CloseJobRequest {
  repository: string;
  runId: string;
  runAttempt: string;
  /** The job's id, which is also its check run id; matched against a `check_run_id` claim when sessions carry one. */
  jobId: string;
  nonce: string;
}

/** One session closed for a job, with where its masked log can be read. */
export interface ClosedSession {
  id: string;
  connections: string[];
  logUrl: string;
}

/** The sessions a finished job had, so the app can post their audit logs as check runs. */
export interface CloseJobResponse {
  sessions: ClosedSession[];
}

/** The signature header value: HMAC-SHA256 over `<timestamp>.<body>`, binding the timestamp to the body (or to the method and path of a GET). */
function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Signs a message; returns the two headers to send with it. */
export function signMessage(secret: string, body: string, now: Date): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    [APPROVAL_HEADERS.timestamp]: timestamp,
    [APPROVAL_HEADERS.signature]: signatureOf(secret, timestamp, body),
  };
}

/** Whether a signed message is authentic, with the problem named for the 401 answer. */
export type SignatureCheck = { ok: true } | { ok: false; problem: string };

/** Verifies a signed message in constant time and refuses stale or future timestamps. */
export function verifyMessage(
  secret: string,
  body: string,
  headers: { timestamp?: string | undefined; signature?: string | undefined },
  now: Date,
): SignatureCheck {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature)
    return { ok: false, problem: `missing ${APPROVAL_HEADERS.timestamp} or ${APPROVAL_HEADERS.signature} header` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, problem: 'timestamp is not a number of seconds' };
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (skew > SIGNATURE_MAX_SKEW_SECONDS)
    return {
      ok: false,
      problem: `timestamp is ${Math.round(skew)}s away from the receiver's clock; check both clocks`,
    };
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, problem: 'signature does not match; check that both sides use the same approvals secret' };
  return { ok: true };
}

/**
 * The pull-request comment that approves `id`. The gateway announces it and the app shows it
 * and parses it back (`app/commands.ts`), so both build it here.
 */
export function approveCommandFor(id: string): string {
  return `/gatehouse approve ${id}`;
}

/** Fills `:id` in one of {@link GATEWAY_APP_ROUTES}. */
export function routePath(route: string, id: string): string {
  return route.replace(':id', encodeURIComponent(id));
}
