import type { EnforcementContext, Enforcer } from '../enforcement/enforcer.ts';
import type { PgQueryAction } from '../policy/actions-and-decisions.ts';
import type { ReadApproval } from './blast-meter.ts';
import type { PgStatement } from './query-gate.ts';

/**
 * How a connection asks whether a result may go on past a read bound: through the one enforcement
 * path, as a `pg.query` action of the same statement with the bound it passed, so the limit's
 * review settings, the approval, its audit event and the client's NOTICE are those of any held
 * statement. The reviewer sees how far the result got before the statement.
 */
export function readApproval(context: EnforcementContext, enforcer: Enforcer): ReadApproval {
  return async (execution, bound, what) => {
    const statement = execution.handle as PgStatement | undefined;
    if (!statement) return false;
    const reason = `${what} and wants more`;
    const action: PgQueryAction = {
      type: 'pg.query',
      connection: context.connection.name,
      identity: context.session.identity,
      via: 'simple',
      sql: statement.text,
      statements: statement.statements,
      readOverBound: { limit: bound.limit.name, reason },
    };
    const verdict = await enforcer.enforce(context, action, {
      text: `-- gatehouse: ${reason}\n${statement.text}`,
      shown: () => `-- gatehouse: ${reason}\n${statement.shown()}`,
      event: () => statement.event(),
      hold: statement.hold,
    });
    return verdict.allowed;
  };
}
