import type { KeyObject } from 'node:crypto';
import type { AuditEventRecord } from '../store/store.ts';
import { AUDIT_EVENT_TYPES } from '../../wire/audit-events.ts';
import { eventHash, GENESIS_HASH } from './hash-chain.ts';
import { verifySeal } from './signing-key.ts';
import type { VerifyProblem } from './verify-session.ts';

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(AUDIT_EVENT_TYPES));
const CLOSING_TYPES: ReadonlySet<string> = new Set(['session.end', 'chain.end']);

/** One chain's verdict; the session's is the conjunction over its chains. */
export interface ChainVerdict {
  chain: string;
  events: number;
  sealed: boolean;
  signatureOk: boolean;
  /** The seal event (its seq and hash enter the session's final hash); null while unsealed. */
  seal: { seq: number; hash: string; keyId: string | null } | null;
}

/**
 * Checks one chain (events of one session and chain, in seq order): every link, the seal's
 * coverage and its signature by one of `keys` (by key id). Problems are appended to `problems`.
 */
export function verifyChain(
  sessionId: string,
  chain: string,
  events: readonly AuditEventRecord[],
  keys: ReadonlyMap<string, KeyObject>,
  problems: VerifyProblem[],
): ChainVerdict {
  const own: VerifyProblem[] = [];
  const verdict = (sealed: boolean, signatureOk: boolean, seal: ChainVerdict['seal']): ChainVerdict => {
    problems.push(...own.map((p) => (chain ? { ...p, chain } : p)));
    return { chain, events: events.length, sealed, signatureOk, seal };
  };
  checkChain(events, own);
  for (const event of events) {
    if (!KNOWN_TYPES.has(event.type)) {
      own.push({
        seq: event.seq,
        kind: 'unknown-type',
        message: `event ${event.seq} has type '${event.type}', which gatehouse never records`,
      });
    }
  }
  const sealIndex = events.findIndex((e) => e.type === 'seal');
  if (sealIndex === -1) {
    const last = events[events.length - 1]!;
    own.push({
      seq: last.seq + 1,
      kind: 'unsealed',
      message: `the ${chain ? `chain ${chain}` : 'session'} has no seal after event ${last.seq}: it is still open, the gateway stopped before closing it (restart it on the same journal to seal with gateway-restart), or its last events were removed`,
    });
    return verdict(false, false, null);
  }
  for (const extra of events.slice(sealIndex + 1)) {
    own.push({
      seq: extra.seq,
      kind: 'after-seal',
      message: `event ${extra.seq} (${extra.type}) comes after the seal: it was inserted after the chain was closed`,
    });
  }
  const seal = events[sealIndex]!;
  const keyId = typeof seal.data.key_id === 'string' ? seal.data.key_id : null;
  const signatureOk = checkSeal(sessionId, events, sealIndex, keys, own);
  return verdict(true, signatureOk, { seq: seal.seq, hash: seal.hash, keyId });
}

function checkSeal(
  sessionId: string,
  events: readonly AuditEventRecord[],
  sealIndex: number,
  keys: ReadonlyMap<string, KeyObject>,
  problems: VerifyProblem[],
): boolean {
  const seal = events[sealIndex]!;
  const sealed = events[sealIndex - 1];
  const data = seal.data as { final_seq?: unknown; final_hash?: unknown; signature?: unknown; key_id?: unknown };
  if (!sealed || data.final_seq !== sealed.seq || data.final_hash !== sealed.hash) {
    const which = !sealed
      ? 'nothing precedes it'
      : data.final_hash === sealed.hash
        ? `it was made for event ${String(data.final_seq)}, so events before it were renumbered`
        : `event ${sealed.seq} (${sealed.type}) was altered and re-hashed, or events were removed or inserted before the seal`;
    problems.push({
      seq: sealed?.seq ?? seal.seq,
      kind: 'bad-seal',
      message: `the seal (event ${seal.seq}) does not cover the event before it: ${which}`,
    });
  }
  if (sealed && !CLOSING_TYPES.has(sealed.type)) {
    problems.push({
      seq: sealed.seq,
      kind: 'bad-seal',
      message: `event ${sealed.seq} (${sealed.type}) precedes the seal instead of session.end or chain.end`,
    });
  }
  if (typeof data.final_seq !== 'number' || typeof data.final_hash !== 'string' || typeof data.signature !== 'string') {
    problems.push({
      seq: seal.seq,
      kind: 'bad-signature',
      message: `the seal (event ${seal.seq}) carries no signature`,
    });
    return false;
  }
  const named = typeof data.key_id === 'string' ? keys.get(data.key_id) : undefined;
  const candidates = named ? [named] : [...keys.values()];
  if (
    !candidates.some((key) =>
      verifySeal(key, sessionId, data.final_seq as number, data.final_hash as string, data.signature as string),
    )
  ) {
    const pinned = [...keys.keys()].map((id) => `${id.slice(0, 16)}…`).join(', ');
    const other =
      typeof data.key_id === 'string' && !named
        ? ` (it names key ${data.key_id.slice(0, 16)}…, verifying with ${pinned || 'no key'})`
        : '';
    problems.push({
      seq: seal.seq,
      kind: 'bad-signature',
      message: `the seal's signature (event ${seal.seq}) is not valid for this gateway's audit key${other}`,
    });
    return false;
  }
  return true;
}

/**
 * Classifies what happened to the chain. Each event's hash is recomputed at its position; one that
 * only matches under another sequence number was moved, and its original number tells removals
 * (missing numbers), insertions (a number taken twice) and reorders (numbers going backwards) apart.
 */
function checkChain(events: readonly AuditEventRecord[], problems: VerifyProblem[]): void {
  const budget = { left: MOVE_SEARCH_BUDGET };
  const original = events.map((event) =>
    eventHash(event.prevHash, event) === event.hash ? event.seq : originalSeq(event, budget),
  );
  const moved = events.map((event, i) => original[i] !== event.seq);
  const known = new Set(original.map((seq, i) => (seq > 0 ? seq : events[i]!.seq)));
  const max = Math.max(...known);
  const renumbered = moved.some((m, i) => m && original[i]! > 0);
  for (let seq = 1; seq <= max; seq++) {
    if (known.has(seq)) continue;
    let last = seq;
    while (last + 1 <= max && !known.has(last + 1)) last++;
    const what = last > seq ? `events ${seq}-${last} are` : `event ${seq} is`;
    problems.push({
      seq,
      kind: 'removed',
      message: `${what} missing: removed from the chain${renumbered ? ' and later events renumbered' : ''}`,
    });
    seq = last;
  }
  events.forEach((event, i) => {
    const orig = original[i]!;
    const label = `event ${event.seq} (${event.type})`;
    if (orig === -1) {
      problems.push({
        seq: event.seq,
        kind: 'altered',
        message: `${label} was altered: its content does not match its hash`,
      });
      return;
    }
    if (!moved[i] && events.some((other, j) => j !== i && moved[j] && original[j] === orig)) {
      problems.push({
        seq: event.seq,
        kind: 'inserted',
        message: `${label} was inserted: the event recorded as ${orig} was moved to make room for it`,
      });
      return;
    }
    const before = i > 0 ? original[i - 1]! : 0;
    const after = i + 1 < events.length ? original[i + 1]! : Infinity;
    if (moved[i] && (orig < before || (after > 0 && orig > after))) {
      problems.push({
        seq: event.seq,
        kind: 'reordered',
        message: `${label} is out of order: it was recorded as event ${orig}`,
      });
      return;
    }
    if (moved[i]) return;
    checkLink(events, i, original, problems);
  });
}

/** For an event that hashes correctly in place: does it follow the event before it? */
function checkLink(
  events: readonly AuditEventRecord[],
  i: number,
  original: number[],
  problems: VerifyProblem[],
): void {
  const event = events[i]!;
  if (i === 0) {
    if (event.seq === 1 && event.prevHash !== GENESIS_HASH) {
      problems.push({
        seq: 1,
        kind: 'broken-link',
        message: `event 1 (${event.type}) does not start a chain: it was replaced`,
      });
    }
    return;
  }
  const previous = events[i - 1]!;
  if (previous.seq !== event.seq - 1 || original[i - 1] !== previous.seq || event.prevHash === previous.hash) return;
  const linked = events.findIndex((e) => e.hash === event.prevHash);
  if (linked !== -1) {
    problems.push({
      seq: event.seq,
      kind: 'reordered',
      message: `event ${event.seq} (${event.type}) is out of order: it follows event ${events[linked]!.seq}`,
    });
  } else {
    problems.push({
      seq: previous.seq,
      kind: 'broken-link',
      message: `event ${previous.seq} (${previous.type}) was replaced or altered and re-hashed: event ${event.seq} records a different predecessor`,
    });
  }
}

/** How far from its position a moved event is looked for, and for how many events at most (bounds the work a mangled log can cause). */
const MOVE_WINDOW = 64;
const MOVE_SEARCH_BUDGET = 2_000;

/** For an event whose hash does not match: the nearby sequence number under which it does (moved), -1 if none. */
function originalSeq(event: AuditEventRecord, budget: { left: number }): number {
  if (budget.left <= 0) return -1;
  budget.left--;
  for (let distance = 1; distance <= MOVE_WINDOW; distance++) {
    for (const seq of [event.seq - distance, event.seq + distance]) {
      if (seq > 0 && eventHash(event.prevHash, { ...event, seq }) === event.hash) return seq;
    }
  }
  return -1;
}
