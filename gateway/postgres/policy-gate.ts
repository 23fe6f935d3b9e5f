import { createHash } from 'node:crypto';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { Recorder } from '../audit/recorder.ts';
import type { PostgresConnectionConfig } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { Decision } from '../policy/types.ts';
import type { ConnectionAnalyzer } from '../sql/connection-analyzer.ts';
import type { StatementResolver } from '../sql/resolve-statements.ts';
import { resultGroups, type StatementAnalysis } from '../sql/statement-analysis.ts';
import { SQLSTATE } from './protocol-codes.ts';
import type {
  ExecutionResult,
  GateControl,
  GateRequest,
  GateVerdict,
  StatementGate,
  StatementHandle,
} from './statement-gate.ts';

/** What the gate attaches to a forwarded statement: its analyses and the decision that let it pass. */
export interface PolicyHandle extends StatementHandle {
  /** The statements as the target will run them: the client's, each followed by what it also runs. */
  readonly statements: readonly StatementAnalysis[];
  /** The client's statements as the connection analyzer returned them (before resolution in the target). */
  readonly analyzed: readonly StatementAnalysis[];
  readonly sql: string;
  readonly decision: Decision;
}

export interface PolicyGateDeps {
  session: SessionContext;
  connection: PostgresConnectionConfig;
  analyzer: ConnectionAnalyzer;
  /** Completes analyses with what the target says they run (function bodies, triggers, views, ...). */
  resolver?: StatementResolver;
  /** Told once a statement that may have changed the catalog ran, so cached resolutions are dropped. */
  catalogChanged?: () => void;
  engine: PolicyEngine;
  recorder: Recorder;
  broker?: ApprovalBroker;
  /** Content detectors over statement text and parameters before they are written to the audit log. */
  maskText: (text: string) => string;
  /** Counts decisions for /metrics. */
  counted?: (decision: Decision['action']) => void;
  log: (message: string) => void;
}

/** Statements after which the target's catalog may say something else (DO and CALL are unknown). */
const CATALOG_KINDS: ReadonlySet<string> = new Set(['ddl', 'privilege', 'admin', 'unknown']);

const DENIED_HINT = 'ask for the rule to be changed, or for this command to run with approval (action: review)';

/**
 * The PostgreSQL adapter's decision point: analyses each statement with the real parser, asks
 * the policy engine, holds `review` decisions with the approvals broker, and writes the
 * statement's audit event before it is forwarded (refusing it when the store cannot be
 * written, unless the connection is `audit: best-effort`).
 */
export function createPolicyGate(deps: PolicyGateDeps): StatementGate {
  const { session, connection } = deps;
  const base = { connection: connection.name, identity: session.identity };

  function decide(sql: string, statements: readonly StatementAnalysis[], via: 'simple' | 'extended'): Decision {
    const evaluation = deps.engine.evaluate({ ...base, type: 'pg.query', via, sql, statements });
    const decision = evaluation.decision;
    deps.counted?.(decision.action);
    if (decision.action === 'allow') return decision;
    // Name where the deciding statement came from when it is code the server runs for the client's statement.
    const deciding = evaluation.statements.filter((s) => s.decision === decision).map((s) => s.statement);
    const origin = deciding.every((s) => s.origin !== undefined) ? deciding[0]?.origin : undefined;
    return origin ? { ...decision, reason: `${decision.reason} (in ${origin})` } : decision;
  }

  /** The handle of analysed statements, once the target resolved what they run. */
  function handleOf(
    sql: string,
    analyzed: readonly StatementAnalysis[],
    via: 'simple' | 'extended',
    then: (handle: PolicyHandle) => GateVerdict | Promise<GateVerdict>,
  ): GateVerdict | Promise<GateVerdict> {
    const make = (statements: readonly StatementAnalysis[]) =>
      then({ statements, analyzed, sql, decision: decide(sql, statements, via) });
    const resolved = deps.resolver ? deps.resolver.resolve(analyzed) : analyzed;
    return resolved instanceof Promise ? resolved.then(make) : make(resolved);
  }

  async function audited(handle: PolicyHandle, params?: readonly (string | Buffer | null)[]): Promise<GateVerdict> {
    const write = deps.recorder.record(session.sessionId, 'statement', {
      connection: connection.name,
      text: deps.maskText(handle.sql),
      params: params?.map((p) =>
        p === null ? null : typeof p === 'string' ? deps.maskText(p) : `\\x${p.toString('hex')}`,
      ),
      decision: handle.decision.action,
      rule: handle.decision.rule,
      reason: handle.decision.reason,
    });
    if (connection.audit === 'best-effort') {
      write.catch((error: Error) => deps.log(`audit (best-effort) failed: ${error.message}`));
      return { forward: true, handle };
    }
    try {
      await write;
      return { forward: true, handle };
    } catch (error) {
      deps.log(`audit store unavailable: ${(error as Error).message}`);
      return {
        forward: false,
        code: SQLSTATE.ioError,
        message: 'gatehouse: the audit store cannot be written, so statements are refused until it is back',
        hint: 'an operator can set `audit: best-effort` on this connection to relax this',
      };
    }
  }

  function refused(handle: PolicyHandle, message: string, code: string = SQLSTATE.insufficientPrivilege): GateVerdict {
    deps.recorder
      .record(session.sessionId, 'statement', {
        connection: connection.name,
        text: deps.maskText(handle.sql),
        decision: 'deny',
        rule: handle.decision.rule,
        reason: message,
      })
      .catch((error: Error) => deps.log(`audit of a denial failed: ${error.message}`));
    return { forward: false, code, message, hint: code === SQLSTATE.insufficientPrivilege ? DENIED_HINT : undefined };
  }

  async function review(
    handle: PolicyHandle,
    control: GateControl,
    then: () => GateVerdict | Promise<GateVerdict>,
  ): Promise<GateVerdict> {
    if (!deps.broker)
      return refused(
        handle,
        `gatehouse: rule "${handle.decision.rule}" requires approval, but approvals are not configured on this gateway`,
      );
    const result = await deps.broker.hold(
      {
        session,
        connection: connection.name,
        statement: deps.maskText(handle.sql),
        statementHash: createHash('sha256').update(handle.sql).digest('hex'),
        decision: handle.decision,
      },
      {
        signal: control.signal,
        onPending: (approval) => {
          deps.recorder
            .record(session.sessionId, 'approval.requested', {
              approval_id: approval.id,
              statement: deps.maskText(handle.sql),
              rule: handle.decision.rule,
            })
            .catch((error: Error) => deps.log(`audit of an approval request failed: ${error.message}`));
          control.notice(
            `gatehouse: statement held for approval ${approval.id} (rule "${handle.decision.rule}")`,
            `approve on the pull request, at ${approval.approveUrl}, or with: ${approval.approveCommand}`,
            `it is denied if nobody approves before ${approval.expiresAt.toISOString()}`,
          );
        },
      },
    );
    if (result.approvalId) {
      deps.recorder
        .record(session.sessionId, 'approval.decided', {
          approval_id: result.approvalId,
          status: result.outcome,
          decided_by: result.decidedBy,
          reason: result.reason,
        })
        .catch((error: Error) => deps.log(`audit of an approval decision failed: ${error.message}`));
    }
    switch (result.outcome) {
      case 'approved':
        return then();
      case 'cancelled':
        return refused(handle, 'canceling statement due to user request', SQLSTATE.queryCanceled);
      case 'timed-out':
        return refused(handle, `gatehouse: approval timed out (rule "${handle.decision.rule}")`);
      default:
        return refused(
          handle,
          `gatehouse: approval denied${result.decidedBy.length ? ` by ${result.decidedBy.join(', ')}` : ''}${result.reason ? `: ${result.reason}` : ''} (rule "${handle.decision.rule}")`,
        );
    }
  }

  function enforce(
    handle: PolicyHandle,
    control: GateControl,
    forward: () => GateVerdict | Promise<GateVerdict>,
  ): GateVerdict | Promise<GateVerdict> {
    switch (handle.decision.action) {
      case 'allow':
        return forward();
      case 'review':
        return review(handle, control, forward);
      default:
        return refused(handle, `gatehouse: denied by rule "${handle.decision.rule}": ${handle.decision.reason}`);
    }
  }

  return {
    check(request: GateRequest, control: GateControl) {
      switch (request.kind) {
        case 'query':
          return handleOf(request.sql, deps.analyzer.analyzeQuery(request.sql), 'simple', (handle) =>
            enforce(handle, control, () => audited(handle)),
          );
        case 'parse': {
          const statements = deps.analyzer.analyzeParse(request.statementName, request.sql);
          // The audit event is written at Bind, where the parameters are known and before anything runs.
          return handleOf(request.sql, statements, 'extended', (handle) =>
            enforce(handle, control, () => ({ forward: true, handle })),
          );
        }
        case 'bind': {
          // A statement parsed through the gateway was decided (and approved) at Parse, unless SQL
          // DEALLOCATE/PREPARE has since given its name another meaning.
          const parsed = request.handle as PolicyHandle | undefined;
          const current = deps.analyzer.forStatement(request.statementName);
          if (parsed && current?.every((s) => parsed.analyzed.includes(s))) return audited(parsed, request.values);
          // A Bind may name a statement made with SQL PREPARE; decide on what it was prepared as.
          if (!current)
            return {
              forward: false,
              code: SQLSTATE.insufficientPrivilege,
              message: `gatehouse: statement "${request.statementName}" was not prepared through the gateway`,
            };
          const sql = current.map((s) => s.text).join('; ');
          return handleOf(sql, current, 'extended', (prepared) =>
            enforce(prepared, control, () => audited(prepared, request.values)),
          );
        }
        case 'function-call': {
          const decision = deps.engine.decide({ ...base, type: 'pg.function-call', functionOid: request.functionOid });
          deps.counted?.(decision.action);
          const handle: PolicyHandle = {
            statements: [],
            analyzed: [],
            sql: `-- FunctionCall oid ${request.functionOid}`,
            decision,
          };
          return enforce(handle, control, () => audited(handle));
        }
      }
    },

    executed(result: ExecutionResult) {
      const ran = (result.handle as PolicyHandle | undefined)?.statements ?? [];
      if (ran.some((s) => CATALOG_KINDS.has(s.kind))) deps.catalogChanged?.();
      const data = {
        duration_ms: Math.round(result.durationMs * 1000) / 1000,
        rows: result.rows,
        bytes: result.bytes,
        masked_values: result.maskedValues,
        sqlstate: result.errorCode,
      };
      const onError = (error: Error) => deps.log(`audit of a result failed: ${error.message}`);
      deps.recorder.record(session.sessionId, 'statement.result', data).catch(onError);
      if (result.sample.length > 0) {
        deps.recorder
          .record(session.sessionId, 'result.sample', {
            columns: result.columns,
            rows: result.sample.map((row) => row.map((v) => (v === null ? null : deps.maskText(v)))),
          })
          .catch(onError);
      }
    },

    statementClosed(name: string) {
      deps.analyzer.closeStatement(name);
    },

    statementCompleted(handle: StatementHandle, statementIndex: number) {
      for (const analysis of resultGroups((handle as PolicyHandle).statements)[statementIndex] ?? [])
        deps.analyzer.statementCompleted(analysis);
    },

    close() {},
  };
}
