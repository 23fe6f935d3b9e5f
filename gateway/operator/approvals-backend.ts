import { viewOf } from '../approvals/approval-record.ts';
import { createApprovalBroker } from '../approvals/broker.ts';
import { createHttpNotifier, silentNotifier } from '../approvals/notifier.ts';
import { randomApprovalId } from '../approvals/approval-record.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { systemClock } from '../identity/session-context.ts';
import { createStore } from '../store/create-store.ts';
import type { ApprovalView } from '../../wire/approvals.ts';
import {
  OPERATOR_API_PATHS,
  type OperatorDecisionRequest,
  type PendingApprovalsResponse,
} from '../../wire/operator-api.ts';
import { findRunningGateway } from './operator-client.ts';

/**
 * Where `gatehouse approvals` reads and decides: the running gateway's operator API, or — only
 * when no gateway runs — the store itself. One interface so the command does not care which.
 */
export interface ApprovalsBackend {
  /** `gateway <url>` or `store`, for the operator to see what was asked. */
  via: string;
  list(): Promise<ApprovalView[]>;
  show(id: string): Promise<ApprovalView>;
  decide(id: string, decision: OperatorDecisionRequest): Promise<string>;
  close(): Promise<void>;
}

/** Opens the backend for `config`: a running gateway first, the store as the fallback. */
export async function openApprovalsBackend(config: GatehouseConfig, gatewayUrl?: string): Promise<ApprovalsBackend> {
  const gateway = await findRunningGateway(config, gatewayUrl);
  if (gateway) {
    const path = (route: string, id: string) => route.replace(':id', encodeURIComponent(id));
    return {
      via: `gateway ${gateway.url}`,
      list: async () => (await gateway.get<PendingApprovalsResponse>(OPERATOR_API_PATHS.approvals)).approvals,
      show: (id) => gateway.get<ApprovalView>(path(OPERATOR_API_PATHS.approval, id)),
      decide: async (id, decision) =>
        (await gateway.post<{ status: string }>(path(OPERATOR_API_PATHS.decision, id), decision)).status,
      close: async () => {},
    };
  }
  return openStoreBackend(config);
}

async function openStoreBackend(config: GatehouseConfig): Promise<ApprovalsBackend> {
  const store = await createStore(config.store);
  const { notifyUrl, secret } = config.approvals;
  const notifier =
    notifyUrl && secret
      ? createHttpNotifier({ url: notifyUrl, secret, clock: systemClock, attempts: 3 })
      : silentNotifier;
  const broker = createApprovalBroker({
    store,
    clock: systemClock,
    notifier,
    publicUrl: config.publicUrl,
    ids: { approvalId: randomApprovalId },
    onError: (error) => process.stderr.write(`gatehouse approvals: ${(error as Error).message}\n`),
  });
  return {
    via: 'store',
    list: async () => (await store.listPendingApprovals()).map(viewOf),
    async show(id) {
      const record = await store.getApproval(id);
      if (!record) throw new GatehouseError('approvals.not-found', `no approval ${id}; see: gatehouse approvals list`);
      return viewOf(record);
    },
    async decide(id, decision) {
      const result = await broker.decide(id, {
        approved: decision.approved,
        by: [decision.by],
        ...(decision.reason ? { reason: decision.reason } : {}),
      });
      if (!result.ok) throw new GatehouseError(`approvals.${result.code}`, result.message);
      return result.status;
    },
    async close() {
      broker.close();
      await store.close();
    },
  };
}
