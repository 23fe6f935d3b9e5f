import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubectl, kubeconfigText } from '../kubectl.ts';
import { startKubeApiServer, type KubeApiServer } from './kube-apiserver.ts';
import { findResourceType } from './resource-catalog.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer();
});
afterAll(async () => {
  await server.close();
});

function call(
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; auth?: 'token' | 'cert' | 'none' } = {},
): Promise<Answer> {
  const auth = options.auth ?? 'token';
  return new Promise((resolve, reject) => {
    const request = https.request(`${server.url}${path}`, {
      method,
      ca: server.tls.ca,
      ...(auth === 'cert' ? { cert: server.tls.clientCert, key: server.tls.clientKey } : {}),
      headers: {
        ...(auth === 'token' ? { authorization: `Bearer ${server.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
    });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      response.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

const pod = (name: string, image: unknown = 'busybox') =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image }] } });

describe('the kube-apiserver stand-in', () => {
  it('refuses a request without a credential it knows, and records which credential reached it', async () => {
    expect((await call('GET', '/api/v1/namespaces', { auth: 'none' })).status).toBe(401);
    expect(
      (await call('GET', '/api/v1/namespaces', { auth: 'none', headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect((await call('GET', '/api/v1/namespaces', { auth: 'cert' })).status).toBe(200);
    const records = server.requests.slice(-3);
    expect(records.map((r) => r.credential)).toEqual([
      { kind: 'none' },
      { kind: 'none' },
      { kind: 'client-cert', name: server.tls.clientName },
    ]);
  });

  it('accepts kubectl with a client certificate instead of a token', async () => {
    const kubectl = createKubectl(
      32,
      kubeconfigText({
        server: server.url,
        ca: server.tls.ca,
        clientCert: server.tls.clientCert,
        clientKey: server.tls.clientKey,
      }),
    );
    try {
      const result = await kubectl.run(['get', 'namespaces']);
      expect(result.stdout).toMatch(/kube-system\s+Active/);
      expect(server.requests.at(-1)!.credential).toEqual({ kind: 'client-cert', name: 'gatehouse-gateway' });
    } finally {
      kubectl.dispose();
    }
  });

  it('answers aggregated discovery in the media type asked for, and legacy discovery otherwise', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const aggregated = await call('GET', '/apis', { headers: { accept } });
    expect(aggregated.headers['content-type']).toBe(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    const apps = aggregated.json.items.find((g: any) => g.metadata.name === 'apps');
    const deploymentsEntry = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
    expect(deploymentsEntry.subresources.map((s: any) => s.subresource)).toEqual(['status', 'scale']);
    const legacy = await call('GET', '/api/v1');
    expect(legacy.json.resources.map((r: any) => r.name)).toContain('pods/exec');
    expect((await call('GET', '/apis')).json.kind).toBe('APIGroupList');
  });

  it('refuses an object its schema rejects, and a field it does not know under fieldValidation=Strict', async () => {
    const wrongType = await call('POST', '/api/v1/namespaces/default/pods', { body: pod('bad', 7) });
    expect(wrongType.status).toBe(422);
    expect(wrongType.json.message).toContain('data/spec/containers/0/image must be string');
    const unknown = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, extra: 1 });
    const strict = await call('POST', '/api/v1/namespaces/default/secrets?fieldValidation=Strict', { body: unknown });
    expect(strict.status).toBe(400);
    expect(strict.json.message).toBe('strict decoding error: unknown field "extra"');
  });

  it('refuses a body whose namespace or kind disagrees with the URL, and a protobuf body', async () => {
    const other = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'kube-system' } });
    expect((await call('POST', '/api/v1/namespaces/default/pods', { body: other })).json.message).toContain(
      'does not match the namespace',
    );
    expect((await call('POST', '/api/v1/namespaces/default/secrets', { body: pod('p') })).status).toBe(400);
    const protobuf = await call('POST', '/api/v1/namespaces/default/pods', {
      body: 'k8s\u0000',
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    });
    expect(protobuf.status).toBe(415);
  });

  it('detects an optimistic-concurrency conflict on a stale resourceVersion', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/pods', { body: pod('versioned') });
    expect(created.status).toBe(201);
    const stale = { ...created.json, metadata: { ...created.json.metadata, resourceVersion: '1' } };
    const put = await call('PUT', '/api/v1/namespaces/default/pods/versioned', { body: JSON.stringify(stale) });
    expect(put.status).toBe(409);
    expect(put.json.reason).toBe('Conflict');
  });

  it('pages a long list with limit and continue', async () => {
    for (let i = 0; i < 5; i++)
      await call('POST', '/api/v1/namespaces/default/configmaps', {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}` },
          data: { i: `${i}` },
        }),
      });
    const first = await call('GET', '/api/v1/namespaces/default/configmaps?limit=3');
    expect(first.json.items).toHaveLength(3);
    const rest = await call(
      'GET',
      `/api/v1/namespaces/default/configmaps?limit=3&continue=${first.json.metadata.continue}`,
    );
    expect(rest.json.items.map((c: any) => c.metadata.name)).toEqual(['cm-3', 'cm-4']);
    expect(rest.json.metadata.continue).toBeUndefined();
  });

  it('refuses a SPDY upgrade for exec, which kubectl uses only when WebSocket fails', async () => {
    const spdy = await call('POST', '/api/v1/namespaces/default/pods/versioned/exec?command=ls&stdout=true', {
      headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io' },
    });
    expect(spdy.status).toBe(400);
    expect(spdy.json.message).toContain('WebSocket only');
  });

  it('flags an object it would serve that breaks the schema', async () => {
    const pods = findResourceType('', 'v1', 'pods')!;
    const broken = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'broken' }, spec: { containers: 'none' } };
    server.cluster.store.create(pods, 'default', broken as never);
    await call('GET', '/api/v1/namespaces/default/pods/broken');
    expect(server.cluster.problems.pop()).toContain(
      "GET /api/v1/namespaces/default/pods/broken: the stand-in's own response is invalid",
    );
    expect(server.cluster.problems).toEqual([]);
  });
});
