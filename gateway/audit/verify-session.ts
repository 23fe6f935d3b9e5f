import type { KeyObject } from 'node:crypto';
import type { AuditChainRecord, AuditEventRecord, Store } from '../store/store.ts';
import { groupChains } from './audit-log.ts';
import { finalHash } from './session-digest.ts';
import { keyIdOf, toPublicKey } from './signing-key.ts';
import { verifyChain, type ChainVerdict } from './verify-chain.ts';

/** Every way a session's log can fail verification, as stable strings that `audit verify --json` prints and scripts match on. */
export const VERIFY_PROBLEMS = {
  missing: 'missing',
  missingChain: 'missing-chain',
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
  expectMismatch: 'expect-mismatch',
} as const;

/** One of {@link VERIFY_PROBLEMS}. */
export type VerifyProblemKind = (typeof VERIFY_PROBLEMS)[keyof typeof VERIFY_PROBLEMS];

/** One thing wrong with a chain, located by sequence number (and chain) so an auditor can look at that event. */
export interface VerifyProblem {
  seq: number;
  /** The chain the event is on; absent for the unnamed chain of logs written before chains. */
  chain?: string;
  kind: VerifyProblemKind;
  message: string;
}

/**
 * The outcome of checking one session. A value, not an exception: `audit verify` prints it and the
 * app may render it; `ok` only when every chain is complete, every link holds, every seal's
 * signature is valid for a given key, and the final hash is the expected one (when one is given).
 */
export interface VerifyResult {
  ok: boolean;
  sessionId: string;
  events: number;
  /** Every chain is sealed. */
  sealed: boolean;
  /** Every seal's signature is valid. */
  signatureOk: boolean;
  /** The first key verified against (the pinned key, usually the only one). */
  keyId: string;
  chains: ChainVerdict[];
  /** Digest of every chain's seal (`session-digest.ts`); null until every chain is sealed. */
  finalHash: string | null;
  problems: VerifyProblem[];
}

/** What else a session is checked against besides its events. */
export interface VerifyOptions {
  /** The chains the store registered for the session: one with no events is a problem. */
  chains?: readonly AuditChainRecord[];
  /** The final hash published outside the gateway (job summary, audit check run). */
  expect?: string;
}

/** A key as given: a KeyObject, a PEM text, or several of them. */
export type KeyInput = KeyObject | string | ReadonlyArray<KeyObject | string>;

/** Checks every chain of `sessionId` in the store against the given public key(s). */
export async function verifySession(
  store: Store,
  sessionId: string,
  keys: KeyInput,
  options: VerifyOptions & { extraEvents?: readonly AuditEventRecord[] } = {},
): Promise<VerifyResult> {
  const [events, chains] = await Promise.all([store.listAuditEvents(sessionId), store.listAuditChains(sessionId)]);
  return verifyEvents(sessionId, [...events, ...(options.extraEvents ?? [])], keys, {
    chains: options.chains ?? chains,
    expect: options.expect,
  });
}

/** Pure core of {@link verifySession}, for events already read (e.g. from an exported JSON-lines file). */
export function verifyEvents(
  sessionId: string,
  events: readonly AuditEventRecord[],
  keyInput: KeyInput,
  options: VerifyOptions = {},
): VerifyResult {
  const keys = keyMap(keyInput);
  const problems: VerifyProblem[] = [];
  const grouped = groupChains(events);
  const verdicts: ChainVerdict[] = [];
  for (const [chain, chainEvents] of grouped) verdicts.push(verifyChain(sessionId, chain, chainEvents, keys, problems));
  const eventCount = [...grouped.values()].reduce((sum, list) => sum + list.length, 0);
  if (eventCount === 0) {
    problems.push({
      seq: 0,
      kind: 'missing',
      message: `no audit events are stored for session ${sessionId}; check the session id and the store`,
    });
  }
  for (const registered of options.chains ?? []) {
    if (grouped.has(registered.chain)) continue;
    problems.push({
      seq: 0,
      chain: registered.chain,
      kind: 'missing-chain',
      message: `chain ${registered.chain} (written by ${registered.gateway} from ${registered.openedAt.toISOString()}) has no events: its journal was lost before it shipped, or its events were removed from the store`,
    });
  }
  const sealed = verdicts.length > 0 && verdicts.every((v) => v.sealed);
  const hash = sealed ? finalHash(verdicts.map((v) => ({ chain: v.chain, ...v.seal! }))) : null;
  if (options.expect !== undefined && hash !== options.expect.trim().toLowerCase()) {
    problems.push({
      seq: 0,
      kind: 'expect-mismatch',
      message: hash
        ? `the log's final hash is ${hash}, not the expected ${options.expect}: the log was rewritten after the session ended (or this is another session)`
        : `the log has no final hash (not every chain is sealed), so it cannot be the log whose final hash was ${options.expect}`,
    });
  }
  return {
    ok: problems.length === 0 && sealed && verdicts.every((v) => v.signatureOk),
    sessionId,
    events: eventCount,
    sealed,
    signatureOk: sealed && verdicts.every((v) => v.signatureOk),
    keyId: keys.keys().next().value ?? '',
    chains: verdicts,
    finalHash: hash,
    problems,
  };
}

function keyMap(input: KeyInput): Map<string, KeyObject> {
  const list = Array.isArray(input) ? input : [input as KeyObject | string];
  const keys = new Map<string, KeyObject>();
  for (const item of list) {
    const key = toPublicKey(item);
    keys.set(keyIdOf(key), key);
  }
  return keys;
}
