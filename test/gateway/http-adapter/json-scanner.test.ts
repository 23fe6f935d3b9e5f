import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonScanError, JsonScanner, type JsonPathStep } from '../../../gateway/http-adapter/json-scanner.ts';

function cut(data: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of sorted) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  chunks.push(data.subarray(start));
  return chunks;
}

function scan(scanner: JsonScanner, chunks: Buffer[]): string {
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...scanner.write(chunk));
  out.push(...scanner.end());
  return Buffer.concat(out).toString('utf8');
}

const spaced = (value: unknown) => JSON.stringify(value, null, 1);

describe('JsonScanner', () => {
  it('passes any JSON text through byte for byte, however it is cut', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), (value, points, pretty) => {
        const text = pretty ? spaced(value) : JSON.stringify(value);
        const data = Buffer.from(text);
        expect(scan(new JsonScanner(), cut(data, points))).toBe(text);
      }),
    );
  });

  it('reports every scalar with its path', () => {
    const seen: Array<[JsonPathStep[], string]> = [];
    const scanner = new JsonScanner({
      scalar: (path, raw) => void seen.push([[...path], raw.toString()]),
    });
    scan(scanner, [Buffer.from('{"a":[1,{"b":"x"}],"c":null}')]);
    expect(seen).toEqual([
      [['a', 0], '1'],
      [['a', 1, 'b'], '"x"'],
      [['c'], 'null'],
    ]);
  });

  it('replaces whole values at a path, however the body is cut', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.array(fc.nat(), { maxLength: 8 }), (secret, other, points) => {
        const body = { keep: other, secret, list: [secret, { secret }] };
        const data = Buffer.from(spaced(body));
        const scanner = new JsonScanner({
          replaceValue: (path) => (path[path.length - 1] === 'secret' ? Buffer.from('"****"') : undefined),
        });
        const out = JSON.parse(scan(scanner, cut(data, points)));
        expect(out).toEqual(
          JSON.parse(JSON.stringify({ keep: other, secret: '****', list: [secret, { secret: '****' }] })),
        );
      }),
    );
  });

  it('reads a sequence of JSON texts (NDJSON) with a fresh path each', () => {
    const paths: JsonPathStep[][] = [];
    const scanner = new JsonScanner({ scalar: (path) => void paths.push([...path]) });
    expect(scan(scanner, [Buffer.from('{"a":1}\n{"b":2}\n3\n')])).toBe('{"a":1}\n{"b":2}\n3\n');
    expect(paths).toEqual([['a'], ['b'], []]);
  });

  it.each([
    ['{"a":1,}', /unexpected '}'/],
    ['{"a" 1}', /value is not expected|unexpected/],
    ['[1 2]', /not expected/],
    ['{"a":tru}', /unknown literal/],
    ['{"a":01}', /malformed number/],
    ['{"a":"x\u0001"}', /control character/],
    ['{"a":1', /ended inside/],
    ['"abc', /ended inside/],
    ["{'a':1}", /unexpected character/],
    ['<html>', /unexpected character/],
  ])('refuses %s', (text, reason) => {
    expect(() => scan(new JsonScanner(), [Buffer.from(text)])).toThrow(reason);
  });

  it('refuses duplicate keys when asked, which request bodies need', () => {
    const text = Buffer.from('{"force":false,"force":true}');
    expect(() =>
      scan(new JsonScanner({}, { maxDepth: 10, maxTokenBytes: 100, rejectDuplicateKeys: true }), [text]),
    ).toThrow(/appears twice/);
    expect(scan(new JsonScanner(), [text])).toBe(text.toString());
  });

  it('refuses values longer than the token limit and nesting deeper than the depth limit', () => {
    const limits = { maxDepth: 3, maxTokenBytes: 10 };
    expect(() =>
      scan(new JsonScanner({}, limits), [Buffer.from('"'), Buffer.from('a'.repeat(20)), Buffer.from('"')]),
    ).toThrow(JsonScanError);
    expect(() => scan(new JsonScanner({}, limits), [Buffer.from('[[[[1]]]]')])).toThrow(/deeper than 3/);
  });
});
