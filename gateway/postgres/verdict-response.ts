import { REFUSAL, type RefusalCode, type Verdict } from '../enforcement/verdict.ts';
import { SQLSTATE } from './protocol-codes.ts';
import type { GateVerdict, StatementHandle } from './statement-gate.ts';

/** The SQLSTATE of each refusal: what a PostgreSQL client switches on. */
const SQLSTATE_OF: Record<RefusalCode, string> = {
  [REFUSAL.denied]: SQLSTATE.insufficientPrivilege,
  [REFUSAL.approvalDenied]: SQLSTATE.insufficientPrivilege,
  [REFUSAL.approvalTimedOut]: SQLSTATE.insufficientPrivilege,
  [REFUSAL.noApprovals]: SQLSTATE.insufficientPrivilege,
  [REFUSAL.approvalsFailed]: SQLSTATE.insufficientPrivilege,
  [REFUSAL.engineError]: SQLSTATE.insufficientPrivilege,
  [REFUSAL.unsupported]: SQLSTATE.featureNotSupported,
  [REFUSAL.cancelled]: SQLSTATE.queryCanceled,
  [REFUSAL.auditUnavailable]: SQLSTATE.ioError,
};

/** The server's own words for a cancelled statement, which psql and drivers recognise. */
const CANCELLED_MESSAGE = 'canceling statement due to user request';

/** A verdict as the relay enforces it: forward (with the statement's handle) or an ErrorResponse in place of the statement. */
export function gateVerdictOf(verdict: Verdict, handle: StatementHandle): GateVerdict {
  if (verdict.allowed) return { forward: true, handle };
  return {
    forward: false,
    code: SQLSTATE_OF[verdict.code],
    message: verdict.code === REFUSAL.cancelled ? CANCELLED_MESSAGE : verdict.message,
    hint: verdict.hint,
  };
}
