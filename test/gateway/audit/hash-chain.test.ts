import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../gateway/audit/canonical-json.ts';
import { EMPTY_CHAIN, eventHash, GENESIS_HASH, linkEvent } from '../../../gateway/audit/hash-chain.ts';

describe('canonicalJson', () => {
  it('sorts keys at every level and drops whitespace and undefined values', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: undefined }, e: 'é\u0000' })).toBe(
      '{"a":{"d":[3,{"x":2,"y":1}]},"b":1,"e":"é\\u0000"}',
    );
  });

  it('gives the same text for the same value regardless of key order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1 }));
  });

  it('refuses values JSON cannot carry with audit.invalid-data', () => {
    expect(() => canonicalJson({ n: 10n })).toThrow(expect.objectContaining({ code: 'audit.invalid-data' }));
  });
});

describe('hash chain', () => {
  const at = new Date('2026-03-01T12:00:00.000Z');

  it('hashes sha256(prevHash + canonical JSON of sessionId, seq, type, at and data)', () => {
    const expected = createHash('sha256')
      .update(GENESIS_HASH)
      .update('{"at":"2026-03-01T12:00:00.000Z","data":{"a":1,"b":2},"seq":1,"sessionId":"s1","type":"statement"}')
      .digest('hex');
    expect(eventHash(GENESIS_HASH, { sessionId: 's1', seq: 1, type: 'statement', at, data: { b: 2, a: 1 } })).toBe(
      expected,
    );
  });

  it('links each event to the hash of the one before it', () => {
    const first = linkEvent(EMPTY_CHAIN, { sessionId: 's1', type: 'session.start', at, data: { claims: {} } });
    const second = linkEvent(first, {
      sessionId: 's1',
      type: 'statement',
      at,
      data: { text: 'SELECT 1', skipped: undefined },
    });
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(second.data).toEqual({ text: 'SELECT 1' });
    expect(eventHash(second.prevHash, second)).toBe(second.hash);
  });

  it('changes the hash when any covered field changes', () => {
    const base = { sessionId: 's1', seq: 1, type: 'statement', at, data: { text: 'SELECT 1' } };
    const hash = eventHash(GENESIS_HASH, base);
    expect(eventHash(GENESIS_HASH, { ...base, seq: 2 })).not.toBe(hash);
    expect(eventHash(GENESIS_HASH, { ...base, sessionId: 's2' })).not.toBe(hash);
    expect(eventHash(GENESIS_HASH, { ...base, type: 'ssh.exec' })).not.toBe(hash);
    expect(eventHash(GENESIS_HASH, { ...base, at: new Date(at.getTime() + 1) })).not.toBe(hash);
    expect(eventHash(GENESIS_HASH, { ...base, data: { text: 'SELECT 2' } })).not.toBe(hash);
    expect(eventHash('1'.repeat(64), base)).not.toBe(hash);
  });
});
