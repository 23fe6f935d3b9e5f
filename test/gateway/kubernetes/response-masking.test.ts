import https from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAST_APPLIED, SECRET_MARKER_BASE64 } from '../../../gateway/kubernetes/object-masking.ts';
import { resolveRequestInfo } from '../../../gateway/kubernetes/request-info.ts';
import { checkKubePath } from '../../../gateway/kubernetes/request-path.ts';
import { kubeResponseMasking } from '../../../gateway/kubernetes/response-masking.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import { startKubeApiServer, type KubeApiServer } from '../../support/kube-apiserver/kube-apiserver.ts';

const masker = createContentMasker({ detectors: ['aws_access_key'] });
const maskText = (text: string) => masker.maskText(text);
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const PASSWORD = Buffer.from('hunter2-very-secret').toString('base64');

let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer();
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'db',
      annotations: { [LAST_APPLIED]: '{"kind":"Secret","stringData":{"password":"hunter2-very-secret"}}' },
    },
    stringData: { password: 'hunter2-very-secret' },
  };
  await request('POST', '/api/v1/namespaces/default/secrets', {}, JSON.stringify(secret));
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app' },
    spec: { containers: [{ name: 'c', image: 'i', env: [{ name: 'K', value: AWS }] }] },
  };
  await request('POST', '/api/v1/namespaces/default/pods', {}, JSON.stringify(pod));
  server.cluster.logs.append('default', 'app', 'c', `using key ${AWS}\n`);
});
afterAll(async () => {
  await server.close();
});

function request(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${server.url}${path}`, {
      method,
      ca: server.tls.ca,
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...headers },
    });
    req.on('response', resolve).on('error', reject);
    req.end(body);
  });
}

async function masked(path: string, accept = 'application/json', until?: (text: string) => boolean): Promise<string> {
  const target = checkKubePath(path);
  if (!target.ok) throw new Error('bad path');
  const info = resolveRequestInfo('GET', target.value);
  if (!info.ok) throw new Error('bad info');
  const response = await request('GET', path, { accept });
  const masking = kubeResponseMasking(info.value, response.headers['content-type'], maskText)!;
  let text = '';
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (until?.(text)) response.destroy();
  });
  await pipeline([response, ...masking.streams, sink]).catch(() => undefined);
  return text;
}

describe('Kubernetes response masking against the stand-in', () => {
  it('masks a Secret, a list and a Table of them, last-applied copies included', async () => {
    for (const [path, accept] of [
      ['/api/v1/namespaces/default/secrets/db', 'application/json'],
      ['/api/v1/namespaces/default/secrets', 'application/json'],
      ['/api/v1/namespaces/default/secrets?includeObject=Object', 'application/json;as=Table;v=v1;g=meta.k8s.io'],
    ] as const) {
      const text = await masked(path, accept);
      expect(text, path).not.toContain(PASSWORD);
      expect(text, path).not.toContain('hunter2');
      expect(text, path).toContain(SECRET_MARKER_BASE64);
    }
  });

  it('masks every event of a watch and a detected key in a pod spec and in logs', async () => {
    const watch = await masked('/api/v1/namespaces/default/secrets?watch=1', 'application/json', (t) =>
      t.includes('\n'),
    );
    expect(JSON.parse(watch.split('\n')[0]!).object.data.password).toBe(SECRET_MARKER_BASE64);
    const pod = JSON.parse(await masked('/api/v1/namespaces/default/pods/app'));
    expect(pod.spec.containers[0].env).toEqual([{ name: 'K', value: '****' }]);
    expect(await masked('/api/v1/namespaces/default/pods/app/log', '*/*')).toContain('using key ****');
  });

  it('fails rather than pass a JSON body that is not JSON, or one it cannot read', async () => {
    const info = resolveRequestInfo('GET', (checkKubePath('/api/v1/pods') as any).value);
    const masking = kubeResponseMasking((info as any).value, 'application/json', maskText)!;
    await expect(
      pipeline([Readable.from([Buffer.from('{"kind":')]), ...masking.streams, new PassThrough()]),
    ).rejects.toThrow('not');
    expect(kubeResponseMasking((info as any).value, 'application/vnd.kubernetes.protobuf', maskText)).toBeNull();
  });
});
