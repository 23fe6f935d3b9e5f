import fc from 'fast-check';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { compileJsonPath } from '../../../gateway/policy/json-path.ts';
import { JsonMaskingStream, type JsonFieldRule } from '../../../gateway/http-adapter/json-masker.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

const detectors = createContentMasker({ detectors: ['github_token', 'email', 'payment_card'] });
const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

function field(path: string, keepLast = 0): JsonFieldRule {
  return { path, test: compileJsonPath(path), keepLast };
}

async function mask(chunks: Buffer[], fields: JsonFieldRule[] = []) {
  const stream = new JsonMaskingStream(fields, detectors);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  await pipeline(Readable.from(chunks), stream);
  return { text: Buffer.concat(out).toString('utf8'), tally: stream.tally };
}

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

describe('JsonMaskingStream', () => {
  it('replaces the values of field rules, whole objects included, and keeps the JSON valid', async () => {
    const body = { user: { email: 'a@b.example', card: '4111111111111111', profile: { ssn: 1 } }, ok: true };
    const { text, tally } = await mask(
      [Buffer.from(JSON.stringify(body))],
      [field('$.user.profile'), field('$.user.card', 4), field('$..email')],
    );
    expect(JSON.parse(text)).toEqual({ user: { email: '****', card: '****1111', profile: '****' }, ok: true });
    expect(tally.fields).toBe(3);
  });

  it('masks a detected token in any string, escaped or not, and in keys', async () => {
    const escaped = JSON.stringify({ a: TOKEN }).replace('ghp_', '\\u0067hp_');
    const one = await mask([Buffer.from(escaped)]);
    expect(JSON.parse(one.text)).toEqual({ a: '****' });
    const two = await mask([Buffer.from(JSON.stringify({ [`by ${TOKEN}`]: 1, note: `use ${TOKEN} now` }))]);
    expect(JSON.parse(two.text)).toEqual({ 'by ****': 1, note: 'use **** now' });
    expect(two.tally.detected).toBe(2);
  });

  it('masks a card number sent as a JSON number', async () => {
    const { text } = await mask([Buffer.from('{"n":4111111111111111}')]);
    expect(JSON.parse(text)).toEqual({ n: '****' });
  });

  it('masks a token however the body is cut into chunks', async () => {
    const data = Buffer.from(JSON.stringify({ items: [{ id: 1, secret: TOKEN, mail: 'x@y.example' }] }, null, 2));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 10 }), async (points) => {
        const { text } = await mask(cut(data, points));
        expect(text).not.toContain(TOKEN);
        expect(JSON.parse(text)).toEqual({ items: [{ id: 1, secret: '****', mail: '****' }] });
      }),
      { numRuns: 60 },
    );
  });

  it('fails the stream on a body that is not JSON instead of passing it', async () => {
    await expect(mask([Buffer.from(`{"a": "x"} <html>${TOKEN}`)])).rejects.toThrow(/not valid JSON/);
  });
});
