import type { ApprovalView } from './approvals.ts';

/**
 * The operator API: what `gatehouse approvals` and `gatehouse dev-token` ask a running gateway,
 * authenticated by the operator token (`operator.token`, or the one `serve` writes beside its store).
 * Shared by the gateway's routes and the CLI so the two cannot drift.
 */
export const OPERATOR_API_PATHS = {
  approvals: '/v1/operator/approvals',
  approval: '/v1/operator/approvals/:id',
  decision: '/v1/operator/approvals/:id/decision',
  devTokens: '/v1/operator/dev-tokens',
  /** A session's masked audit log (the `SessionLog` of `wire/session-log.ts`), journal included. */
  sessionLog: '/v1/operator/sessions/:id/log',
} as const;

/** `GET approvals`: what is held now, oldest first. */
export interface PendingApprovalsResponse {
  approvals: ApprovalView[];
}

/** `POST decision`: the operator's answer; `by` names the operator in the audit log (`cli:<user>`). */
export interface OperatorDecisionRequest {
  approved: boolean;
  by: string;
  reason?: string;
}

/** `POST dev-tokens`: claims for a token from the dev issuer (only when `issuer: dev` is configured). */
export interface DevTokenRequest {
  claims: Record<string, unknown>;
}

/** The minted token. */
export interface DevTokenResponse {
  token: string;
}
