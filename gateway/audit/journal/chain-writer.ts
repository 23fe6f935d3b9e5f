import { GatehouseError } from '../../errors/gatehouse-error.ts';
import type { AuditEventRecord } from '../../store/store.ts';
import { createLruCache } from '../../sql/lru-cache.ts';
import { canonicalJson } from '../canonical-json.ts';
import { GENESIS_HASH, linkCanonicalEvent } from '../hash-chain.ts';
import { signSeal, type AuditSigningKey } from '../signing-key.ts';
import { chainKey, type Journal, type JournalEvent, type JournalHead } from './journal.ts';
import { checkpointLine, eventLine } from './journal-lines.ts';
import { unavailable, type Shipper } from './shipper.ts';

import type { AuditDurability } from '../../config/config-types.ts';

export type { AuditDurability };

/** One event to chain; `seal` appends the signed seal right after it, closing the chain. */
export interface WriteItem {
  sessionId: string;
  /** Another chain than the writer's own: a chain a crashed predecessor left open (recovery). */
  chain?: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
  /** `data` as canonical JSON, computed once when the event was recorded. */
  canonical: string;
  seal?: boolean;
}

export interface ChainWriterOptions {
  journal: Journal;
  shipper: Shipper;
  /** This process's chain id: every event it records for a session goes on this chain. */
  chain: string;
  durability: AuditDurability;
  key: AuditSigningKey;
  /** Registers a chain in the store before its first event is acknowledged. */
  register: (sessionId: string, chain: string) => Promise<void>;
  /** Open chains a previous process left in the journal, so recovery can close them. */
  recovered?: readonly JournalHead[];
}

/** Batches events, links them into their chains and appends each batch to the journal with one write. */
export interface ChainWriter {
  enqueue(item: WriteItem): Promise<number | null>;
  /** Whether this process already knows session `sessionId` on `chain` (open, sealed, or queued). */
  knows(sessionId: string, chain?: string): boolean;
  /** The open chains' heads (for checkpoints and shutdown). */
  heads(): JournalHead[];
  /** Waits until everything queued so far is in the journal (or refused). */
  flush(): Promise<void>;
}

interface Pending {
  item: WriteItem;
  resolve: (seq: number | null) => void;
  reject: (error: unknown) => void;
}

interface OpenHead {
  chain: string;
  sessionId: string;
  seq: number;
  hash: string;
  atMs: number;
  start: boolean;
}

function emptyHead(chain: string, sessionId: string): OpenHead {
  return { chain, sessionId, seq: 0, hash: GENESIS_HASH, atMs: 0, start: false };
}

const SEALED_REMEMBERED = 10_000;

export function createChainWriter(options: ChainWriterOptions): ChainWriter {
  return new JournalChainWriter(options);
}

interface Linked {
  next: Map<string, OpenHead>;
  done: Set<string>;
  accepted: Array<{ pending: Pending; seq: number }>;
  records: AuditEventRecord[];
  lines: string;
}

class JournalChainWriter implements ChainWriter {
  readonly #options: ChainWriterOptions;
  readonly #heads = new Map<string, OpenHead>();
  readonly #sealed = createLruCache<true>(SEALED_REMEMBERED);
  readonly #queued = new Map<string, number>();
  #queue: Pending[] = [];
  #draining = false;
  /** Items enqueued and items written (or refused) so far, so a flush waits for its own items only. */
  #enqueued = 0;
  #done = 0;
  #flushes: Array<{ target: number; resolve: () => void }> = [];

  constructor(options: ChainWriterOptions) {
    this.#options = options;
    for (const h of options.recovered ?? [])
      this.#heads.set(chainKey(h.chain, h.sessionId), { ...h, atMs: Date.parse(h.at) });
  }

  enqueue(item: WriteItem): Promise<number | null> {
    return new Promise<number | null>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#enqueued++;
      const key = this.#keyOf(item);
      this.#queued.set(key, (this.#queued.get(key) ?? 0) + 1);
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  knows(sessionId: string, chain = this.#options.chain): boolean {
    const key = chainKey(chain, sessionId);
    return this.#heads.has(key) || this.#sealed.get(key) === true || this.#queued.has(key);
  }

  heads(): JournalHead[] {
    return [...this.#heads.values()].map((h) => ({
      chain: h.chain,
      sessionId: h.sessionId,
      seq: h.seq,
      hash: h.hash,
      at: new Date(h.atMs).toISOString(),
      start: h.start,
    }));
  }

  /** Waits for what was enqueued before the call, not for a queue that refills under load. */
  flush(): Promise<void> {
    if (this.#done >= this.#enqueued) return Promise.resolve();
    return new Promise((resolve) => this.#flushes.push({ target: this.#enqueued, resolve }));
  }

  #keyOf(item: WriteItem): string {
    return chainKey(item.chain ?? this.#options.chain, item.sessionId);
  }

  /** Writes batches until the queue is empty; `draining` is cleared in the same turn as the last check, so no enqueue is missed. */
  async #drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await this.#writeBatch(batch).catch((error: unknown) => batch.forEach((p) => p.reject(error)));
      for (const { item } of batch) {
        const key = this.#keyOf(item);
        const left = (this.#queued.get(key) ?? 1) - 1;
        if (left > 0) this.#queued.set(key, left);
        else this.#queued.delete(key);
      }
      this.#done += batch.length;
      this.#flushes = this.#flushes.filter((f) => (f.target <= this.#done ? (f.resolve(), false) : true));
    }
    this.#draining = false;
  }

  /** Registers the chains this batch opens; returns the sessions whose registration failed. */
  async #register(batch: Pending[]): Promise<Map<string, unknown>> {
    const fresh = new Set<string>();
    for (const { item } of batch) {
      const key = this.#keyOf(item);
      if (!item.chain && !this.#heads.has(key) && !this.#sealed.get(key)) fresh.add(item.sessionId);
    }
    const failed = new Map<string, unknown>();
    await Promise.all(
      [...fresh].map((sessionId) =>
        this.#options.register(sessionId, this.#options.chain).catch((error: unknown) => failed.set(sessionId, error)),
      ),
    );
    return failed;
  }

  async #writeBatch(batch: Pending[]): Promise<void> {
    const { journal, shipper, durability } = this.#options;
    const linked = this.#link(batch, await this.#register(batch));
    if (linked.lines === '') return;
    const end = await journal.append(linked.lines, durability === 'fsync');
    for (const [key, head] of linked.next) {
      if (linked.done.has(key)) {
        this.#heads.delete(key);
        this.#sealed.set(key, true);
      } else this.#heads.set(key, head);
    }
    const { records, accepted } = linked;
    shipper.push(records.map((record, i): JournalEvent => ({ record, end: i === records.length - 1 ? end : null })));
    if (durability !== 'store') {
      for (const { pending, seq } of accepted) pending.resolve(seq);
      return;
    }
    shipper.settled({ failFast: true }).then(
      () => accepted.forEach(({ pending, seq }) => pending.resolve(seq)),
      (error: unknown) => accepted.forEach(({ pending }) => pending.reject(error)),
    );
  }

  /** Chains the batch onto the current heads without touching them; refusals are settled here. */
  #link(batch: Pending[], failed: Map<string, unknown>): Linked {
    const linked: Linked = { next: new Map(), done: new Set(), accepted: [], records: [], lines: '' };
    for (const pending of batch) {
      const { item } = pending;
      const key = this.#keyOf(item);
      if (failed.has(item.sessionId) && !item.chain) {
        pending.reject(unavailable(failed.get(item.sessionId)));
      } else if (linked.done.has(key) || this.#sealed.get(key)) {
        if (item.seal) pending.resolve(null);
        else pending.reject(closed(item.sessionId));
      } else {
        this.#linkOne(pending, key, linked);
      }
    }
    return linked;
  }

  #linkOne(pending: Pending, key: string, linked: Linked): void {
    const { item } = pending;
    const chain = item.chain ?? this.#options.chain;
    const head = linked.next.get(key) ?? this.#heads.get(key) ?? emptyHead(chain, item.sessionId);
    const at = new Date(Math.max(item.at.getTime(), head.atMs));
    const event = linkCanonicalEvent(head, { ...item, chain, at }, item.canonical);
    linked.lines += eventLine(event, item.canonical);
    linked.records.push(event);
    let last = event;
    if (item.seal) {
      last = this.#sealOf(event);
      linked.lines += eventLine(last, canonicalJson(last.data));
      linked.records.push(last);
      linked.done.add(key);
    }
    const start = head.start || item.type === 'session.start';
    linked.next.set(key, {
      chain,
      sessionId: item.sessionId,
      seq: last.seq,
      hash: last.hash,
      atMs: at.getTime(),
      start,
    });
    linked.accepted.push({ pending, seq: event.seq });
  }

  #sealOf(event: AuditEventRecord): AuditEventRecord {
    const { key } = this.#options;
    const data = {
      algorithm: 'ed25519',
      final_hash: event.hash,
      final_seq: event.seq,
      key_id: key.keyId,
      signature: signSeal(key, event.sessionId, event.seq, event.hash),
    };
    const seal = { sessionId: event.sessionId, chain: event.chain, type: 'seal', at: event.at, data };
    return linkCanonicalEvent(event, seal, canonicalJson(data));
  }
}

/** The checkpoint line of a writer's open chains, for the journal's `checkpoint` option. */
export function writerCheckpoint(writer: () => ChainWriter | undefined): () => string {
  return () => checkpointLine(writer()?.heads() ?? []);
}

function closed(sessionId: string): GatehouseError {
  return new GatehouseError(
    'audit.session-closed',
    `session ${sessionId} has ended; open a new session to run more commands`,
  );
}
