import type { KeyObject } from 'node:crypto';
import type { AuditEventRecord, Store } from '../store/store.ts';
import { AUDIT_EVENT_TYPES } from '../../wire/audit-events.ts';
import { eventHash, GENESIS_HASH } from './hash-chain.ts';
import { keyIdOf, toPublicKey, verifySeal } from './signing-key.ts';

/** Every way a session's log can fail verification, as stable strings that `audit verify --json` prints and scripts match on. */
export const VERIFY_PROBLEMS = {
  missing: 'missing',
  removed: 'removed',
  altered: 'altered',
  inserted: 'inserted',
  reordered: 'reordered',
  brokenLink: 'broken-link',
  unsealed: 'unsealed',
  badSeal: 'bad-seal',
  badSignature: 'bad-signature',
  afterSeal: 'after-seal',
  unknownType: 'unknown-type',
} as const;

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(AUDIT_EVENT_TYPES));

/** One of {@link VERIFY_PROBLEMS}. */
export type VerifyProblemKind = (typeof VERIFY_PROBLEMS)[keyof typeof VERIFY_PROBLEMS];

/** One thing wrong with a chain, located by sequence number so an auditor can look at that event. */
export interface VerifyProblem {
  seq: number;
  kind: VerifyProblemKind;
  message: string;
}

/**
 * The outcome of checking one session's chain. A value, not an exception: `audit verify` prints
 * it and the app may render it; `ok` only when every link holds and the seal's signature is valid.
 */
export interface VerifyResult {
  ok: boolean;
  sessionId: string;
  events: number;
  sealed: boolean;
  signatureOk: boolean;
  keyId: string;
  problems: VerifyProblem[];
}

/** Checks the hash chain and the seal of `sessionId` against the gateway's audit public key. */
export async function verifySession(
  store: Store,
  sessionId: string,
  publicKey: KeyObject | string,
): Promise<VerifyResult> {
  return verifyEvents(sessionId, await store.listAuditEvents(sessionId), publicKey);
}

/** Pure core of {@link verifySession}, for events already read (e.g. from an exported JSON-lines file). */
export function verifyEvents(
  sessionId: string,
  events: readonly AuditEventRecord[],
  publicKeyInput: KeyObject | string,
): VerifyResult {
  const publicKey = toPublicKey(publicKeyInput);
  const keyId = keyIdOf(publicKey);
  const problems: VerifyProblem[] = [];
  const result = (sealed: boolean, signatureOk: boolean): VerifyResult => ({
    ok: problems.length === 0 && sealed && signatureOk,
    sessionId,
    events: events.length,
    sealed,
    signatureOk,
    keyId,
    problems,
  });
  if (events.length === 0) {
    problems.push({
      seq: 0,
      kind: 'missing',
      message: `no audit events are stored for session ${sessionId}; check the session id and the store`,
    });
    return result(false, false);
  }

  checkChain(events, problems);
  for (const event of events) {
    if (!KNOWN_TYPES.has(event.type)) {
      problems.push({
        seq: event.seq,
        kind: 'unknown-type',
        message: `event ${event.seq} has type '${event.type}', which gatehouse never records`,
      });
    }
  }
  const sealIndex = events.findIndex((e) => e.type === 'seal');
  if (sealIndex === -1) {
    const last = events[events.length - 1]!;
    problems.push({
      seq: last.seq + 1,
      kind: 'unsealed',
      message: `the session has no seal after event ${last.seq}: it is still open, the gateway stopped before closing it (restart it to seal with gateway-restart), or its last events were removed`,
    });
    return result(false, false);
  }
  for (const extra of events.slice(sealIndex + 1)) {
    problems.push({
      seq: extra.seq,
      kind: 'after-seal',
      message: `event ${extra.seq} (${extra.type}) comes after the seal: it was inserted after the session ended`,
    });
  }
  return result(true, checkSeal(sessionId, events, sealIndex, publicKey, keyId, problems));
}

function checkSeal(
  sessionId: string,
  events: readonly AuditEventRecord[],
  sealIndex: number,
  publicKey: KeyObject,
  keyId: string,
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
  if (sealed && sealed.type !== 'session.end') {
    problems.push({
      seq: sealed.seq,
      kind: 'bad-seal',
      message: `event ${sealed.seq} (${sealed.type}) precedes the seal instead of session.end`,
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
  if (!verifySeal(publicKey, sessionId, data.final_seq, data.final_hash, data.signature)) {
    const other =
      typeof data.key_id === 'string' && data.key_id !== keyId
        ? ` (it names key ${data.key_id.slice(0, 16)}…, verifying with ${keyId.slice(0, 16)}…)`
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
