import type { Store } from './store.ts';

/** What the embedded store's worker is started with. */
export interface WorkerStoreData {
  location: string;
}

/** The {@link Store} methods that cross the thread boundary as request/reply messages. */
export const FORWARDED_METHODS = [
  'migrate',
  'close',
  'getSecret',
  'putSecretIfAbsent',
  'deleteSecret',
  'useJti',
  'createSession',
  'getSession',
  'findSessionByTokenHash',
  'endSession',
  'listEndedSessions',
  'endExpiredSessions',
  'addSessionSshKey',
  'listOpenSessions',
  'findSessionsByClaims',
  'appendAuditEvents',
  'shipAuditEvents',
  'listAuditEvents',
  'lastAuditEvent',
  'listUnsealedAuditSessions',
  'registerAuditChain',
  'listAuditChains',
  'putAuditKey',
  'listAuditKeys',
  'createApproval',
  'getApproval',
  'decideApproval',
  'listPendingApprovals',
  'findApprovalWindow',
] as const satisfies ReadonlyArray<keyof Store>;

/** A store method the worker runs on the caller's behalf; anything else never crosses the thread boundary. */
export type ForwardedMethod = (typeof FORWARDED_METHODS)[number];

/** An error as it crosses the boundary: `code` keeps SQLSTATEs (23505) and GatehouseError codes. */
export interface WireError {
  name: string;
  message: string;
  code: string | undefined;
}

/** A call sent to the store worker; `id` pairs it with its {@link StoreReply} (0 is reserved for the approval watch). */
export type StoreRequest =
  | { id: number; method: ForwardedMethod; args: unknown[] }
  | { id: 0; method: 'watchApprovals' | 'unwatchApprovals'; args: [] };

/** The worker's answer to one {@link StoreRequest}: a value, or an error that keeps its code across the boundary. */
export type StoreReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** Messages the worker sends besides replies. */
export type WorkerEvent = { ready: true } | { ready: false; error: WireError } | { approvalId: string };
