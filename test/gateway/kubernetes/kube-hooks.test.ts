import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createKubeHooks } from '../../../gateway/kubernetes/kube-hooks.ts';
import { SECRET_MARKER_BASE64 } from '../../../gateway/kubernetes/object-masking.ts';
import type { ProxiedRequest, ResponseBodyHandling } from '../../../gateway/http-adapter/proxy-types.ts';
import type { HttpMaskingRules } from '../../../gateway/http-adapter/response-plan.ts';
import { checkRequestTarget } from '../../../gateway/http-adapter/request-target.ts';

const detectors = { active: false, mightMatch: () => false, maskText: (text: string) => ({ text, count: 0 }) };
const hooks = createKubeHooks({
  connection: 'cluster',
  credential: { kind: 'bearer', token: () => 'gateway-token' },
  detectors,
  now: () => 0,
});
const rules: HttpMaskingRules = { fields: [], detectors, passes: () => false };
const client = {
  session: { sessionId: 's', identity: { sessionId: 's', claims: {} } },
  context: {},
} as unknown as Parameters<typeof hooks.deriveAction>[1];

function request(method: string, url: string, headers: Record<string, string> = {}): ProxiedRequest {
  const target = checkRequestTarget(url);
  if (!target.ok) throw new Error(target.refusal.message);
  const request = {
    method,
    head: { method, url, headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])), body: 'none' },
    rawHeaders: Object.entries(headers).flat(),
    target: target.value,
    media: null,
    body: { kind: 'none' },
    gathered: null,
    upgrade: null,
  } as ProxiedRequest;
  const derived = hooks.deriveAction(request, client);
  if (!derived.ok) throw new Error(derived.refusal.message);
  return request;
}

function answer(handling: ResponseBodyHandling | undefined): string {
  return handling?.kind === 'plan' ? handling.plan.kind : (handling?.kind ?? 'none');
}

async function run(handling: ResponseBodyHandling | undefined, body: Buffer): Promise<string> {
  if (handling?.kind !== 'streams') throw new Error('not streams');
  const chunks: Buffer[] = [];
  let stream: NodeJS.ReadableStream = Readable.from([body]);
  for (const transform of handling.streams) stream = stream.pipe(transform);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const secret = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { p: 'c2VjcmV0' } });
const summary = (contentType: string | undefined, contentEncoding?: string) => ({
  method: 'GET',
  status: 200,
  contentType,
  ...(contentEncoding ? { contentEncoding } : {}),
});

describe('the Kubernetes response hooks', () => {
  it('refuses protobuf, CBOR, unknown and missing content types rather than pass them', () => {
    const get = request('GET', '/api/v1/namespaces/ci/secrets/db');
    for (const type of [
      'application/vnd.kubernetes.protobuf',
      'application/cbor',
      'application/octet-stream',
      undefined,
    ])
      expect(answer(hooks.responseBody!(summary(type), get, rules)), String(type)).toBe('refuse');
  });

  it('masks a gzip-encoded Secret after decoding it, and refuses an encoding it cannot decode', async () => {
    const get = request('GET', '/api/v1/namespaces/ci/secrets/db');
    const masked = await run(hooks.responseBody!(summary('application/json', 'gzip'), get, rules), gzipSync(secret));
    expect(JSON.parse(masked).data.p).toBe(SECRET_MARKER_BASE64);
    expect(answer(hooks.responseBody!(summary('application/json', 'compress'), get, rules))).toBe('refuse');
  });

  it('offers the API server JSON only and adds the gateway token', () => {
    const get = request('GET', '/api/v1/pods', { accept: 'application/vnd.kubernetes.protobuf, */*' });
    const headers = hooks.rewriteRequestHeaders!([['accept', 'application/vnd.kubernetes.protobuf, */*']], get);
    expect(headers).toEqual([
      ['accept', 'application/json'],
      ['authorization', 'Bearer gateway-token'],
    ]);
    expect(hooks.dropRequestHeader!('impersonate-group')).toBe(true);
  });

  it('answers refusals as a Kubernetes Status', () => {
    const body = hooks.refusalBody!({ status: 403, code: 'policy.denied', message: 'no' }, 'rule-a', 'ask');
    expect(JSON.parse(body.body)).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message: 'no (ask)',
    });
  });
});
