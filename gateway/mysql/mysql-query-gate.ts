import type { CommandEvent, EnforceCall, EnforcementContext, Enforcer } from '../enforcement/enforcer.ts';
import { REFUSAL, type RefusalCode, type Verdict } from '../enforcement/verdict.ts';
import type { MysqlQueryAction } from '../policy/actions-and-decisions.ts';
import type { MysqlExecution, MysqlGate, MysqlGateControl, MysqlRequest, MysqlVerdict } from './mysql-gate.ts';

export interface MysqlQueryGateDeps {
  context: EnforcementContext;
  enforcer: Enforcer;
  /** The connection's content detectors over text written to the audit log or shown to reviewers. */
  maskText: (text: string) => string;
  log: (message: string) => void;
}

/** The MySQL error of each refusal: code and SQLSTATE, what a MySQL client switches on. */
const ERROR_OF: Record<RefusalCode, { code: number; sqlState: string }> = {
  [REFUSAL.denied]: { code: 1142, sqlState: '42000' },
  [REFUSAL.approvalDenied]: { code: 1142, sqlState: '42000' },
  [REFUSAL.approvalTimedOut]: { code: 1142, sqlState: '42000' },
  [REFUSAL.noApprovals]: { code: 1142, sqlState: '42000' },
  [REFUSAL.approvalsFailed]: { code: 1142, sqlState: '42000' },
  [REFUSAL.engineError]: { code: 1142, sqlState: '42000' },
  [REFUSAL.unsupported]: { code: 1235, sqlState: '42000' },
  [REFUSAL.cancelled]: { code: 1317, sqlState: '70100' },
  [REFUSAL.auditUnavailable]: { code: 1105, sqlState: 'HY000' },
};

/** A verdict as the relay enforces it: forward, or an ERR in place of the command. */
export function mysqlVerdictOf(verdict: Verdict): MysqlVerdict {
  if (verdict.allowed) return { forward: true };
  const error = ERROR_OF[verdict.code];
  const message = verdict.code === REFUSAL.cancelled ? 'Query execution was interrupted' : verdict.message;
  return { forward: false, ...error, message: verdict.hint ? `${message} (${verdict.hint})` : message };
}

function heldMessage(context: EnforcementContext, id: string, rule: string): string {
  return `mysql: command of session ${context.session.sessionId} held for approval ${id} (rule "${rule}")`;
}

/**
 * The MySQL adapter's decision point on the enforcement core: each COM_QUERY and prepare is a
 * `mysql.query` action; a prepared statement is decided (and approved) at its prepare and
 * audited at each execute, with its parameters, before anything runs.
 */
export function createMysqlQueryGate(deps: MysqlQueryGateDeps): MysqlGate {
  const prepared = new WeakMap<object, Verdict>();
  const { context, enforcer } = deps;

  function call(request: MysqlRequest, control: MysqlGateControl): EnforceCall & { event(): CommandEvent } {
    const params = request.kind === 'execute' ? request.params : undefined;
    return {
      text: request.sql,
      shown: () => deps.maskText(request.sql),
      audit: request.kind === 'prepare' ? 'refused' : 'always',
      event: () => ({
        type: 'statement',
        data: {
          connection: context.connection.name,
          text: deps.maskText(request.sql),
          ...(params ? { params: params.map((p) => (p === null ? null : deps.maskText(p))) } : {}),
        },
      }),
      // MySQL has no message a waiting client would show, so where to approve is only logged.
      hold: {
        signal: control.signal,
        pending: (approval, decision) => deps.log(heldMessage(context, approval.id, decision.rule)),
      },
    };
  }

  return {
    check(request, control) {
      const c = call(request, control);
      const earlier = request.kind === 'execute' ? prepared.get(request.statements) : undefined;
      if (earlier) {
        const committed = enforcer.commit(context, earlier, c.event());
        return committed instanceof Promise ? committed.then(mysqlVerdictOf) : mysqlVerdictOf(committed);
      }
      const action: MysqlQueryAction = {
        connection: context.connection.name,
        identity: context.session.identity,
        type: 'mysql.query',
        via: request.kind === 'query' ? 'text' : 'prepared',
        sql: request.sql,
        statements: request.statements.filter((s) => !s.empty),
      };
      const settle = (verdict: Verdict) => {
        if (request.kind === 'prepare') prepared.set(request.statements, verdict);
        return mysqlVerdictOf(verdict);
      };
      const verdict = enforcer.enforce(context, action, c);
      return verdict instanceof Promise ? verdict.then(settle) : settle(verdict);
    },
    executed(result: MysqlExecution) {
      void enforcer.record(context, 'statement.result', {
        duration_ms: Math.round(result.durationMs * 1000) / 1000,
        rows: result.rows || result.affectedRows,
        bytes: result.bytes,
        masked_values: result.maskedValues,
        sqlstate: result.errorCode === undefined ? undefined : String(result.errorCode),
      });
    },
    close() {},
  };
}
