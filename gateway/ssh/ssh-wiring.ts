import { createHash } from 'node:crypto';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { Recorder } from '../audit/recorder.ts';
import type { Clock, SessionContext } from '../identity/session-context.ts';
import type { Action, Decision } from '../policy/types.ts';
import type { Store } from '../store/store.ts';
import type { SshGatewayDeps, SshHoldOutcome, SshHoldRequest } from './ports.ts';

/** The real parts of the gateway the SSH adapter is wired to (see gateway/server/gateway.ts). */
export interface SshWiringParts {
  engine: { decide(action: Action): Decision };
  sessions: { authenticate(token: string): Promise<SessionContext | null> };
  store: Pick<Store, 'getSession'>;
  recorder: Pick<Recorder, 'record'>;
  broker?: Pick<ApprovalBroker, 'hold'>;
  /** The content detectors of a connection (masking policy compiled per connection name). */
  maskTextFor(connection: string): (text: string) => { text: string; count: number };
  clock: Clock;
  log(message: string): void;
  /** E.g. `(decision) => metrics.statements.inc({ protocol: 'ssh', decision })`. */
  counted?(decision: Decision['action']): void;
}

/**
 * Builds {@link SshGatewayDeps} from the engine, session service, store, recorder and approvals
 * broker, so the lead's gateway assembly is one call: `createSshGateway({ ..., deps: createSshDeps(parts) })`.
 */
export function createSshDeps(parts: SshWiringParts): SshGatewayDeps {
  const maskers = new Map<string, (text: string) => { text: string; count: number }>();
  const broker = parts.broker;
  const counted = parts.counted;
  return {
    decide: (action) => parts.engine.decide(action),
    authenticate: (token) => parts.sessions.authenticate(token),
    sessionSshKeys: async (sessionId) => (await parts.store.getSession(sessionId))?.sshKeys ?? [],
    record: (sessionId, type, data) => parts.recorder.record(sessionId, type, data as never),
    maskText: (text, connection) => {
      let masker = maskers.get(connection);
      if (!masker) maskers.set(connection, (masker = parts.maskTextFor(connection)));
      return masker(text);
    },
    ...(broker ? { hold: (request: SshHoldRequest) => holdWithBroker(broker, request) } : {}),
    now: () => parts.clock.now(),
    log: parts.log,
    ...(counted ? { onDecision: (_action: Action, decision: Decision) => counted(decision.action) } : {}),
  };
}

async function holdWithBroker(broker: Pick<ApprovalBroker, 'hold'>, request: SshHoldRequest): Promise<SshHoldOutcome> {
  const result = await broker.hold(
    {
      session: request.session,
      connection: request.connection,
      statement: request.command,
      statementHash: createHash('sha256').update(request.command).digest('hex'),
      decision: request.decision,
    },
    {
      signal: request.signal,
      onPending: (approval) =>
        request.notify(
          `approval ${approval.id}: approve on the pull request, at ${approval.approveUrl}, or with: ${approval.approveCommand} (denied if nobody approves before ${approval.expiresAt.toISOString()})`,
        ),
    },
  );
  const approvalId = result.approvalId ?? undefined;
  switch (result.outcome) {
    case 'approved':
      return {
        approved: true,
        reason: result.decidedBy.length ? `approved by ${result.decidedBy.join(', ')}` : 'approved',
        approvalId,
      };
    case 'timed-out':
      return { approved: false, reason: `approval timed out (rule "${request.decision.rule}")`, approvalId };
    case 'cancelled':
      return { approved: false, reason: 'approval request cancelled', approvalId };
    default:
      return {
        approved: false,
        reason: `approval denied${result.decidedBy.length ? ` by ${result.decidedBy.join(', ')}` : ''}${result.reason ? `: ${result.reason}` : ''}`,
        approvalId,
      };
  }
}
