import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_MARKER_BASE64 } from '../../../gateway/kubernetes/object-masking.ts';
import { directRequest, KUBE_STATIC_TOKEN, startKubeGateway, type KubeGateway } from '../../support/kube-gateway.ts';

const POLICY = `
rules:
  - name: ci-reads
    connections: [ci-cluster]
    action: allow
    when: { k8s: { verbs: [get, list, watch], namespaces: [ci] } }
    reason: reads in ci
  - name: ci-writes
    connections: [ci-cluster]
    action: allow
    when: { k8s: { verbs: [create, update, patch], resources: [configmaps, pods], namespaces: [ci] } }
    reason: writes in ci
  - name: no-deletes
    connections: [ci-cluster]
    action: deny
    when: { k8s: { verbs: [delete, deletecollection] } }
    reason: deleting from CI is not allowed
  - name: no-privileged
    connections: [ci-cluster]
    action: deny
    when: { k8s: { pod: [privileged] } }
    reason: no privileged pods
`;

const SECRET_VALUE = 'c3VwZXItc2VjcmV0LXBhc3N3b3Jk';
let kube: KubeGateway;

const pod = (name: string, privileged = false) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ci' },
  spec: {
    containers: [{ name: 'app', image: 'nginx:1.27', ...(privileged ? { securityContext: { privileged } } : {}) }],
  },
});

beforeAll(async () => {
  kube = await startKubeGateway({ policy: POLICY });
  const seed = async (target: string, body: unknown) =>
    expect((await directRequest(kube.server, 'POST', target, body)).status).toBe(201);
  await seed('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ci' } });
  await seed('/api/v1/namespaces/ci/pods', pod('web'));
  await seed('/api/v1/namespaces/ci/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db' },
    data: { password: SECRET_VALUE },
  });
}, 60_000);

afterAll(async () => {
  await kube?.close();
});

const lastSeen = () => kube.server.requests[kube.server.requests.length - 1]!;

describe('the Kubernetes adapter through a whole gateway', () => {
  it('relays an allowed get with the gateway credential, never the client Authorization or Impersonate-*', async () => {
    const answer = await kube.request('GET', '/api/v1/namespaces/ci/pods/web', {
      headers: { authorization: 'Bearer job-own-token', 'impersonate-user': 'system:admin' },
    });
    expect(answer.status).toBe(403);
    expect(answer.json()).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    const plain = await kube.request('GET', '/api/v1/namespaces/ci/pods/web', {
      headers: {
        authorization: 'Bearer job-own-token',
        accept: 'application/vnd.kubernetes.protobuf,application/json',
      },
    });
    expect(plain.status).toBe(200);
    expect(plain.json()).toMatchObject({ kind: 'Pod', metadata: { name: 'web' } });
    const seen = lastSeen();
    expect(seen.credential).toEqual({ kind: 'bearer', token: kube.server.token });
    expect(seen.headers.accept).toBe('application/json');
    expect(Object.keys(seen.headers).filter((h) => h.startsWith('impersonate-'))).toEqual([]);
  });

  it('answers a denied delete with a Forbidden Status naming the rule and the fix, and never relays it', async () => {
    const before = kube.server.requests.length;
    const answer = await kube.request('DELETE', '/api/v1/namespaces/ci/pods/web');
    expect(answer.status).toBe(403);
    const status = answer.json();
    expect(status).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
    });
    expect(status.message).toContain('no-deletes');
    expect(status.details.causes).toContainEqual({ reason: 'GatehouseRule', message: 'no-deletes' });
    expect(kube.server.requests.length).toBe(before);
  });

  it('denies what no rule allows by default-deny, naming the request and the fix', async () => {
    const answer = await kube.request('GET', '/api/v1/namespaces/kube-system/pods');
    expect(answer.status).toBe(403);
    expect(answer.json().message).toMatch(/default-deny|no policy rule allows list pods -n kube-system/);
  });

  it('lets kubectl discover the API without a rule', async () => {
    const answer = await kube.request('GET', '/api/v1');
    expect(answer.status).toBe(200);
    expect(answer.json().kind).toBe('APIResourceList');
  });

  it('masks Secret data in a get and in a list, as base64 of the marker', async () => {
    const one = await kube.request('GET', '/api/v1/namespaces/ci/secrets/db');
    expect(one.status).toBe(200);
    expect(one.json().data.password).toBe(SECRET_MARKER_BASE64);
    const list = await kube.request('GET', '/api/v1/namespaces/ci/secrets');
    expect(list.text).not.toContain(SECRET_VALUE);
    expect(list.json().items[0].data.password).toBe(SECRET_MARKER_BASE64);
  });

  it('creates an allowed pod and refuses a privileged one', async () => {
    const body = (p: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(p) });
    const created = await kube.request('POST', '/api/v1/namespaces/ci/pods', body(pod('api')));
    expect(created.status).toBe(201);
    const privileged = await kube.request('POST', '/api/v1/namespaces/ci/pods', body(pod('root', true)));
    expect(privileged.status).toBe(403);
    expect(privileged.json().message).toContain('no-privileged');
  });

  it('refuses protobuf bodies, encoded slashes and exec without a rule', async () => {
    const protobuf = await kube.request('POST', '/api/v1/namespaces/ci/pods', {
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
      body: Buffer.from([0x6b, 0x38, 0x73, 0x00]),
    });
    expect(protobuf.status).toBe(415);
    expect(protobuf.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType' });
    const slash = await kube.request('GET', '/api/v1/namespaces/ci%2Fpods');
    expect(slash.status).toBe(400);
    const exec = await kube.request('POST', '/api/v1/namespaces/ci/pods/web/exec?command=sh&stdout=true');
    expect(exec.status).toBe(403);
    expect(exec.json().message).toContain('exec');
  });

  it('records each request and its outcome in the session log', async () => {
    await kube.request('GET', '/api/v1/namespaces/ci/configmaps');
    await kube.gateway.recorder.flush();
    const session = await kube.gateway.sessions.authenticate(KUBE_STATIC_TOKEN);
    const events = await kube.gateway.store.listAuditEvents(session!.sessionId);
    const requests = events.filter((e) => e.type === 'k8s.request');
    expect(requests.map((e) => e.data.shown)).toContain('list configmaps -n ci');
    expect(requests.find((e) => e.data.shown === 'delete pods web -n ci')).toMatchObject({ data: { verb: 'delete' } });
    expect(events.some((e) => e.type === 'http.response' && e.data.status === 200)).toBe(true);
  });
});
