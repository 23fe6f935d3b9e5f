import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_CHAIN, linkEvent } from '../../../gateway/audit/hash-chain.ts';
import { keyIdOf, signSeal } from '../../../gateway/audit/signing-key.ts';
import { verifyEvents } from '../../../gateway/audit/verify-session.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = { privateKey, publicKey, keyId: keyIdOf(publicKey) };
const at = new Date('2026-03-01T12:00:00.000Z');

function sealedChain(statements: number): AuditEventRecord[] {
  const events: AuditEventRecord[] = [];
  let head = EMPTY_CHAIN;
  const push = (type: string, data: Record<string, unknown>) => {
    const event = linkEvent(head, { sessionId: 's1', type, at, data });
    events.push(event);
    head = event;
  };
  push('session.start', { claims: {} });
  for (let i = 0; i < statements; i++) push('statement', { text: `SELECT ${i}`, decision: 'allow', rule: 'r' });
  push('session.end', { reason: 'client-closed' });
  const end = events.at(-1)!;
  push('seal', {
    final_seq: end.seq,
    final_hash: end.hash,
    algorithm: 'ed25519',
    key_id: signer.keyId,
    signature: signSeal(signer, 's1', end.seq, end.hash),
  });
  return events;
}

describe('verifyEvents', () => {
  it('accepts a sealed chain held in memory (an export) with the PEM public key', () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyEvents('s1', sealedChain(3), pem)).toMatchObject({ ok: true, events: 6, keyId: signer.keyId });
  });

  it('refuses a seal transplanted onto another session id', () => {
    const result = verifyEvents(
      's2',
      sealedChain(2).map((e) => ({ ...e, sessionId: 's2' })),
      publicKey,
    );
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.kind)).toContain('altered');
  });

  it('stays bounded when every event of a long session was rewritten', () => {
    const mangled = sealedChain(3000).map((e) => ({ ...e, data: { ...e.data, mangled: true } }));
    const result = verifyEvents('s1', mangled, publicKey);
    expect(result.ok).toBe(false);
    expect(result.problems.filter((p) => p.kind === 'altered')).toHaveLength(3003);
  });
});
