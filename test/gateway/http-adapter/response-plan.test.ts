import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyTap, TapStream } from '../../../gateway/http-adapter/body-tap.ts';
import { compileJsonPath } from '../../../gateway/policy/json-path.ts';
import {
  maskingStreams,
  planResponseBody,
  type HttpMaskingRules,
  type ResponseSummary,
} from '../../../gateway/http-adapter/response-plan.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const rules: HttpMaskingRules = {
  fields: [{ path: '$.password', test: compileJsonPath('$.password'), keepLast: 0 }],
  detectors: createContentMasker({ detectors: ['github_token'] }),
  passes: (essence) => essence === 'application/pdf',
};
const none: HttpMaskingRules = { fields: [], detectors: createContentMasker({ detectors: [] }), passes: () => false };

function plan(partial: Partial<ResponseSummary>, with_ = rules) {
  return planResponseBody({ method: 'GET', status: 200, ...partial }, with_);
}

describe('planResponseBody', () => {
  it('sends nothing for HEAD, 204, 304 and empty bodies', () => {
    expect(plan({ method: 'HEAD', contentType: 'image/png' }).kind).toBe('empty');
    expect(plan({ status: 204 }).kind).toBe('empty');
    expect(plan({ status: 304, contentType: 'image/png' }).kind).toBe('empty');
    expect(plan({ contentType: 'image/png', contentLength: '0' }).kind).toBe('empty');
  });

  it('masks JSON, NDJSON and text, decoding gzip, deflate and br', () => {
    expect(plan({ contentType: 'application/json; charset=utf-8' })).toEqual({ kind: 'mask', masker: 'json' });
    expect(plan({ contentType: 'application/x-ndjson' })).toEqual({ kind: 'mask', masker: 'json' });
    expect(plan({ contentType: 'text/event-stream' })).toEqual({ kind: 'mask', masker: 'text' });
    expect(plan({ contentType: 'application/problem+json', contentEncoding: 'gzip' })).toEqual({
      kind: 'mask',
      masker: 'json',
      decode: 'gzip',
    });
    expect(plan({ contentType: 'text/plain', contentEncoding: 'br' })).toMatchObject({ decode: 'br' });
  });

  it('refuses bodies it cannot mask unless a rule passes their type', () => {
    expect(plan({ contentType: 'application/octet-stream' })).toMatchObject({
      kind: 'refuse',
      refusal: { status: 502, code: 'http.response-unmaskable' },
    });
    expect(plan({ contentType: 'application/pdf' }).kind).toBe('pass');
    expect(plan({ contentType: 'application/json', contentEncoding: 'zstd' }).kind).toBe('refuse');
    expect(plan({ contentType: 'application/json', contentEncoding: 'gzip, br' }).kind).toBe('refuse');
    expect(plan({ contentType: 'application/json; charset=utf-16' }).kind).toBe('refuse');
    expect(plan({ contentType: 'not a type' }).kind).toBe('refuse');
    expect(plan({}).kind).toBe('empty-or-refuse');
  });

  it('passes readable bodies as sent when nothing is masked on the connection', () => {
    expect(plan({ contentType: 'application/json', contentEncoding: 'gzip' }, none).kind).toBe('pass');
    expect(plan({ contentType: 'image/png' }, none).kind).toBe('refuse');
  });
});

async function run(body: Buffer, contentType: string, contentEncoding?: string) {
  const chosen = plan({ contentType, contentEncoding });
  if (chosen.kind !== 'mask') throw new Error(`not masked: ${chosen.kind}`);
  const { streams, tally } = maskingStreams(chosen, rules);
  const tap = new BodyTap(16);
  const stream = new TapStream(tap);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  await pipeline([Readable.from([body]), ...streams, stream] as unknown as [Readable, NodeJS.WritableStream]);
  return { text: Buffer.concat(out).toString(), tally: tally(), summary: tap.summary() };
}

describe('maskingStreams', () => {
  it('decodes a gzip JSON body and masks a field and a token in it', async () => {
    const body = zlib.gzipSync(JSON.stringify({ password: 'hunter2', note: TOKEN }));
    const { text, tally } = await run(body, 'application/json', 'gzip');
    expect(JSON.parse(text)).toEqual({ password: '****', note: '****' });
    expect(tally).toEqual({ fields: 1, detected: 1 });
  });

  it('masks a token in a brotli text body', async () => {
    const { text } = await run(zlib.brotliCompressSync(`token: ${TOKEN}\n`), 'text/plain', 'br');
    expect(text).toBe('token: ****\n');
  });

  it('cuts a body whose encoding is a lie', async () => {
    await expect(run(Buffer.from(`{"a":"${TOKEN}"}`), 'application/json', 'gzip')).rejects.toThrow();
  });
});

describe('BodyTap', () => {
  it('hashes an empty body as the SHA-256 of nothing without starting a hash', () => {
    expect(new BodyTap(8).summary()).toEqual({
      bytes: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sample: '',
      truncated: false,
    });
  });

  it('counts, hashes and samples a bounded prefix', async () => {
    const { summary } = await run(Buffer.from('x'.repeat(100) + '\n'), 'text/plain');
    expect(summary.bytes).toBe(101);
    expect(summary.sample).toBe('x'.repeat(16));
    expect(summary.truncated).toBe(true);
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
