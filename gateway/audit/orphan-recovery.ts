import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from '../store/store.ts';
import type { JournalHead } from './journal/journal.ts';

/** What recovery needs from the recorder that runs it. */
export interface OrphanRecoveryDeps {
  store: Store;
  /** Chains the previous process of this journal left open. */
  recovered: readonly JournalHead[];
  /** Resolves once the journal's unshipped events are in the store; rejects when they cannot be. */
  settle: () => Promise<void>;
  /** Appends a closing event (`session.end` or `chain.end`) and the seal to a recovered chain. */
  endOnChain: (sessionId: string, chain: string, type: 'session.end' | 'chain.end', reason: string) => Promise<void>;
  /** Ends a session on the recovering process's own chain and in the store. */
  endHere: (sessionId: string, reason: string) => Promise<void>;
  log: (message: string) => void;
  reason: string;
  /** This gateway: sessions it started whose chains are not in its journal are ended too. */
  gatewayId?: string;
}

/**
 * After a crash: ships the journal, then closes what the dead process left open. A chain is
 * sealed only when the store's copy ends exactly where this journal says it does, so a store
 * whose tail was cut (or grown) behind the gateway's back is never laundered into a valid seal,
 * and no chain another process wrote is ever sealed here. A session the dead process had started
 * and nobody ended gets `session.end`; a chain of a session already ended elsewhere (or of one
 * this process did not start) gets `chain.end`. Returns the ids of the sessions it ended.
 */
export async function closeOrphanedChains(deps: OrphanRecoveryDeps): Promise<string[]> {
  try {
    await deps.settle();
  } catch (error) {
    throw new GatehouseError(
      'audit.recovery',
      `cannot ship the audit journal the previous run left (${(error as Error).message}); start the gateway again once the store is reachable`,
      { cause: error },
    );
  }
  const closed: string[] = [];
  const started = new Set<string>();
  for (const head of deps.recovered) {
    if (head.start) started.add(head.sessionId);
    if (await closeChain(deps, head)) closed.push(head.sessionId);
  }
  if (deps.gatewayId) closed.push(...(await closeLostSessions(deps, deps.gatewayId, started)));
  return closed;
}

async function closeChain(deps: OrphanRecoveryDeps, head: JournalHead): Promise<boolean> {
  const { store } = deps;
  const stored = await store.lastAuditEvent(head.sessionId, head.chain);
  const session = await store.getSession(head.sessionId);
  const live = head.start && (!session || !session.endedAt);
  if (!stored || stored.seq !== head.seq || stored.hash !== head.hash) {
    deps.log(
      `audit: chain ${head.chain} of session ${head.sessionId} does not end in the store where this gateway's journal says (journal: event ${head.seq}, ${head.hash.slice(0, 12)}…; store: ${stored ? `event ${stored.seq}, ${stored.hash.slice(0, 12)}…` : 'no events'}); it is left unsealed: run \`gatehouse audit verify ${head.sessionId}\``,
    );
    if (live && session) await store.endSession(head.sessionId, deps.reason, new Date());
    return live && session !== null;
  }
  if (live) {
    await deps.endOnChain(head.sessionId, head.chain, 'session.end', deps.reason);
    if (session) await store.endSession(head.sessionId, deps.reason, new Date());
    return true;
  }
  await deps.endOnChain(head.sessionId, head.chain, 'chain.end', 'gateway-restart');
  return false;
}

/** Sessions this gateway started (by `session.start`'s gateway) that are still open but whose chain its journal no longer holds. */
async function closeLostSessions(deps: OrphanRecoveryDeps, gatewayId: string, handled: Set<string>): Promise<string[]> {
  const closed: string[] = [];
  for (const session of await deps.store.listOpenSessions()) {
    if (handled.has(session.id)) continue;
    // Since 0.2 the chain holding session.start is registered by its gateway: skip reading the events
    // of sessions only other gateways wrote; logs from before chains (none registered) are read.
    const chains = await deps.store.listAuditChains(session.id);
    if (chains.length > 0 && !chains.some((c) => c.gateway === gatewayId)) continue;
    const start = (await deps.store.listAuditEvents(session.id)).find((e) => e.type === 'session.start');
    if (start?.data.gateway !== gatewayId) continue;
    await deps.endHere(session.id, deps.reason);
    closed.push(session.id);
  }
  return closed;
}
