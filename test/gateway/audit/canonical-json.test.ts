import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalData, canonicalJson } from '../../../gateway/audit/canonical-json.ts';

describe('canonicalData', () => {
  it('writes the same bytes and snapshot as canonicalJson and JSON.parse, flat or not', () => {
    const scalar = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(-0));
    const value = fc.oneof(
      scalar,
      fc.constant(undefined),
      fc.array(scalar),
      fc.array(fc.oneof(scalar, fc.constant(undefined))),
      fc.dictionary(fc.string(), scalar),
      fc.sparseArray(scalar),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (data) => {
        const written = canonicalData(data);
        const expected = canonicalJson(data);
        expect(written.canonical).toBe(expected);
        expect(written.snapshot).toStrictEqual(JSON.parse(expected));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes a statement event with its keys sorted and its parameters in order', () => {
    const data = { text: 'SELECT $1', connection: 'app-db', params: ['a', null, 2], skipped: undefined };
    expect(canonicalData(data)).toStrictEqual({
      canonical: '{"connection":"app-db","params":["a",null,2],"text":"SELECT $1"}',
      snapshot: { connection: 'app-db', params: ['a', null, 2], text: 'SELECT $1' },
    });
  });

  it('keeps a "__proto__" key a key of the snapshot', () => {
    const data = JSON.parse('{"__proto__":"x","a":1}') as Record<string, unknown>;
    const written = canonicalData(data);
    expect(written.canonical).toBe('{"__proto__":"x","a":1}');
    expect(Object.keys(written.snapshot)).toEqual(['__proto__', 'a']);
  });

  it('refuses what JSON cannot hold, as canonicalJson does', () => {
    expect(() => canonicalData({ n: 1n })).toThrow(/cannot be written as JSON/);
  });
});
