import type { AuditChainRecord, AuditEventRecord, Store } from '../store/store.ts';
import { finalHash } from './session-digest.ts';

/** Events of a session by chain ('' for the unnamed chain), each list in seq order with duplicates dropped. */
export function groupChains(events: readonly AuditEventRecord[]): Map<string, AuditEventRecord[]> {
  const chains = new Map<string, AuditEventRecord[]>();
  for (const event of events) {
    const chain = event.chain ?? '';
    let list = chains.get(chain);
    if (!list) chains.set(chain, (list = []));
    list.push(event);
  }
  for (const [chain, list] of chains) {
    list.sort((a, b) => a.seq - b.seq);
    chains.set(
      chain,
      list.filter((event, i) => i === 0 || list[i - 1]!.seq !== event.seq),
    );
  }
  return new Map([...chains].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * One session's events as one log: its chains (one per gateway process that served it) merged by
 * time, each chain kept in its own order (a chain's times never go back, so the merge is stable).
 */
export function mergeChains(events: readonly AuditEventRecord[]): AuditEventRecord[] {
  const lists = [...groupChains(events).values()];
  if (lists.length <= 1) return lists[0] ?? [];
  const next = lists.map(() => 0);
  const merged: AuditEventRecord[] = [];
  for (;;) {
    let pick = -1;
    for (let i = 0; i < lists.length; i++) {
      const candidate = lists[i]![next[i]!];
      if (candidate && (pick === -1 || candidate.at < lists[pick]![next[pick]!]!.at)) pick = i;
    }
    if (pick === -1) return merged;
    merged.push(lists[pick]![next[pick]!++]!);
  }
}

/** Where a session's events are: the store, plus what a live recorder's journal has not shipped yet. */
export interface AuditSource {
  store: Pick<Store, 'listAuditEvents' | 'listAuditChains'>;
  pending?: (sessionId: string) => readonly AuditEventRecord[];
}

/** A session's events from every source, merged into one log. */
export async function readSessionEvents(source: AuditSource, sessionId: string): Promise<AuditEventRecord[]> {
  const stored = await source.store.listAuditEvents(sessionId);
  return mergeChains([...stored, ...(source.pending?.(sessionId) ?? [])]);
}

/**
 * The session's final hash once it is over: every registered chain present and sealed and a
 * `session.end` in one of them; null before (a chain still open, e.g. on a replica that has not
 * learnt of the end yet).
 */
export function finalHashOf(events: readonly AuditEventRecord[], chains: readonly AuditChainRecord[]): string | null {
  const grouped = groupChains(events);
  if (grouped.size === 0 || chains.some((c) => !grouped.has(c.chain))) return null;
  if (!events.some((e) => e.type === 'session.end')) return null;
  const seals = [...grouped].map(([chain, list]) => ({ chain, last: list[list.length - 1]! }));
  if (seals.some(({ last }) => last.type !== 'seal')) return null;
  return finalHash(seals.map(({ chain, last }) => ({ chain, seq: last.seq, hash: last.hash })));
}
