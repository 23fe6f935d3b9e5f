import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderKubeconfig } from '../../../actions/src/kubeconfig.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { SECRET_MARKER_BASE64 } from '../../../gateway/kubernetes/object-masking.ts';
import { startLocalProxy, type LocalProxy } from '../../../gateway/client/local-proxy.ts';
import { directRequest, KUBE_CONNECTION, startKubeGateway, type KubeGateway } from '../../support/kube-gateway.ts';
import { findResourceType } from '../../support/kube-apiserver/resource-catalog.ts';
import { createKubectl, type Kubectl } from '../../support/kubectl.ts';

const POLICY = `
identities:
  - { name: ci, claims: { repository: acme/app }, connections: [ci-cluster] }
rules:
  - name: ci-reads
    connections: [ci-cluster]
    action: allow
    when: { k8s: { verbs: [get, list, watch], namespaces: [ci] } }
    reason: reads in ci
  - name: ci-deploys
    connections: [ci-cluster]
    action: allow
    when: { k8s: { verbs: [create, update, patch], resources: [configmaps, deployments.apps], namespaces: [ci] } }
    reason: deploys in ci
  - name: ci-configmap-deletes
    connections: [ci-cluster]
    action: allow
    when: { k8s: { verbs: [delete], resources: [configmaps], namespaces: [ci] } }
    reason: configmaps may be deleted
  - name: pod-deletes-need-approval
    connections: [ci-cluster]
    action: review
    when: { k8s: { verbs: [delete], resources: [pods], namespaces: [ci] } }
    reason: deleting a pod needs a reviewer
    review: { timeout: 1m }
  - name: ci-exec-echo
    connections: [ci-cluster]
    action: allow
    when: { k8s: { subresources: [exec], namespaces: [ci], program: [echo] } }
    reason: smoke tests may echo
  - name: no-deployment-deletes
    connections: [ci-cluster]
    action: deny
    when: { k8s: { verbs: [delete], resources: [deployments.apps] } }
    reason: deployments are not deleted from CI
masking:
  - { connections: [ci-cluster], detectors: [github_token] }
`;
const LEAKED = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

const SECRET_VALUE = Buffer.from('hunter2-database-password').toString('base64');
const MINORS = [30, 32] as const;

let kube: KubeGateway;
let proxy: LocalProxy;
let kubeconfig: string;

const labels = { app: 'web' };
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ci' },
  spec: {
    replicas: 1,
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
  },
};
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ci', labels },
  spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
});
const secret = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'ci' },
  data: { password: SECRET_VALUE },
});

beforeAll(async () => {
  kube = await startKubeGateway({ policy: POLICY });
  const seed = async (target: string, body: unknown) =>
    expect((await directRequest(kube.server, 'POST', target, body)).status).toBe(201);
  await seed('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ci' } });
  for (const name of ['web-1', 'web-2', 'doomed-30', 'doomed-32']) await seed('/api/v1/namespaces/ci/pods', pod(name));
  await seed('/apis/apps/v1/namespaces/ci/deployments', deployment);
  await seed('/api/v1/namespaces/ci/secrets', secret('db'));
  const token = await mintDevToken(
    await loadDevIssuerKey(kube.gateway.store),
    'http://gatehouse.test',
    { repository: 'acme/app', ref: 'refs/heads/main' },
    systemClock,
  );
  proxy = await startLocalProxy({
    gateway: kube.gateway.httpUrl,
    credential: { oidcToken: token },
    connections: [{ name: KUBE_CONNECTION }],
  });
  kubeconfig = renderKubeconfig(proxy.ready.connections)!;
}, 60_000);

afterAll(async () => {
  await proxy?.close({ endSession: true });
  await kube?.close();
});

async function approveWhenPending(): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const pending = (await kube.gateway.store.listPendingApprovals()).find((a) => a.connection === KUBE_CONNECTION);
    if (pending) {
      await kube.gateway.broker.decide(pending.id, { approved: true, by: ['alice'] });
      return pending.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no approval was requested');
}

describe.each(MINORS)('kubectl 1.%i through the local proxy and the gateway', (minor) => {
  let kubectl: Kubectl;
  beforeAll(() => {
    kubectl = createKubectl(minor, kubeconfig);
  });
  afterAll(() => kubectl?.dispose());

  it('lists pods in an allowed namespace', async () => {
    const result = await kubectl.run(['get', 'pods', '-n', 'ci', '-o', 'name']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(expect.arrayContaining(['pod/web-1', 'pod/web-2']));
  });

  it("defaults to the connection's namespace, which the grant carries to the KUBECONFIG context", async () => {
    expect(proxy.ready.connections[0]).toMatchObject({ type: 'kubernetes', namespace: 'ci' });
    const result = await kubectl.run(['get', 'pods', '-o', 'name']);
    expect(result.stdout).toContain('pod/web-1');
  });

  it('shows the Forbidden Status of a denied list, with the rule and the fix', async () => {
    const result = await kubectl.run(['get', 'pods', '-n', 'kube-system']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error from server (Forbidden)');
    expect(result.stderr).toContain('default-deny');
    expect(result.stderr).toContain('add an allow rule');
  });

  it('applies a configmap (create, then update) and deletes it', async () => {
    const manifest = (value: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `settings-${minor}`, namespace: 'ci' },
        data: { mode: value },
      });
    const created = await kubectl.run(['apply', '-f', '-'], { stdin: manifest('blue') });
    expect(created.stdout).toContain(`configmap/settings-${minor} created`);
    const updated = await kubectl.run(['apply', '-f', '-'], { stdin: manifest('green') });
    expect(updated.stdout).toContain(`configmap/settings-${minor} configured`);
    expect(
      kube.server.cluster.store.get(findResourceType('', 'v1', 'configmaps')!, 'ci', `settings-${minor}`)?.data,
    ).toEqual({ mode: 'green' });
    const deleted = await kubectl.run(['delete', 'configmap', `settings-${minor}`, '-n', 'ci']);
    expect(deleted.stdout).toContain(`configmap "settings-${minor}" deleted`);
  });

  it('refuses a denied delete with the rule named, and the deployment stays', async () => {
    const result = await kubectl.run(['delete', 'deployment', 'web', '-n', 'ci']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error from server (Forbidden)');
    expect(result.stderr).toContain('no-deployment-deletes');
    expect(kube.server.cluster.store.get(findResourceType('apps', 'v1', 'deployments')!, 'ci', 'web')).toBeDefined();
  });

  it('holds a pod delete until it is approved, then completes it', async () => {
    const [result] = await Promise.all([
      kubectl.run(['delete', 'pod', `doomed-${minor}`, '-n', 'ci', '--wait=true'], { timeoutMs: 30_000 }),
      approveWhenPending(),
    ]);
    expect(result.stdout).toContain(`pod "doomed-${minor}" deleted`);
  });

  it('masks Secret values in get -o yaml', async () => {
    const result = await kubectl.run(['get', 'secret', 'db', '-n', 'ci', '-o', 'yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`password: ${SECRET_MARKER_BASE64}`);
    expect(result.stdout).not.toContain(SECRET_VALUE);
  });

  it('masks Secrets arriving on a watch', async () => {
    const child = kubectl.start(['get', 'secrets', '-n', 'ci', '-w', '-o', 'json']);
    let out = '';
    const name = `watched-${minor}`;
    const seen = new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes(`"name": "${name}"`)) resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await directRequest(kube.server, 'POST', '/api/v1/namespaces/ci/secrets', secret(name))).status).toBe(201);
    await seen;
    child.kill('SIGTERM');
    expect(out).toContain(SECRET_MARKER_BASE64);
    expect(out).not.toContain(SECRET_VALUE);
  });

  it('refuses exec with a message naming the rule and the fix', async () => {
    const result = await kubectl.run(['exec', 'web-1', '-n', 'ci', '--', 'sh', '-c', 'echo hi']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Error from server (Forbidden)');
    expect(result.stderr).toContain('default-deny');
    expect(result.stderr).toContain('names exec');
    expect(kube.server.execs.filter((e) => e.command[0] === 'sh')).toEqual([]);
  });

  it('relays an allowed exec over WebSocket, its output through the detectors', async () => {
    const result = await kubectl.run(['exec', 'web-2', '-n', 'ci', '--', 'echo', 'token', LEAKED]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^token \*+\n$/);
    expect(result.stdout).not.toContain(LEAKED);
    expect(kube.server.execs.at(-1)).toMatchObject({ pod: 'web-2', protocol: 'v5.channel.k8s.io', exitCode: 0 });
  });
});

describe('what the cluster and the audit log saw', () => {
  it('never received the local password, a client Authorization or an impersonation header', () => {
    const local = proxy.ready.connections[0]!.password!;
    expect(kube.server.requests.length).toBeGreaterThan(10);
    for (const request of kube.server.requests) {
      if (request.credential.kind === 'bearer' && request.credential.token === kube.server.token) continue;
      expect(request.headers.authorization ?? '').not.toContain(local);
    }
    const viaGateway = kube.server.requests.filter((r) => r.headers['user-agent']?.includes('kubectl'));
    expect(viaGateway.length).toBeGreaterThan(0);
    for (const request of viaGateway) {
      expect(request.credential).toEqual({ kind: 'bearer', token: kube.server.token });
      expect(Object.keys(request.headers).some((h) => h.startsWith('impersonate-'))).toBe(false);
    }
  });

  it('holds a k8s.request event with its decision for each request', async () => {
    await kube.gateway.recorder.flush();
    const events = await kube.gateway.store.listAuditEvents(proxy.ready.session_id);
    const shown = events.filter((e) => e.type === 'k8s.request').map((e) => `${e.data.decision}:${e.data.shown}`);
    expect(shown).toEqual(
      expect.arrayContaining([
        'allow:list pods -n ci',
        'deny:list pods -n kube-system',
        'deny:delete deployments.apps web -n ci',
        'allow:delete pods doomed-30 -n ci',
        'allow:get secrets db -n ci',
        'allow:watch secrets -n ci',
        'deny:exec ci/web-1 -c web -- sh -c echo hi',
      ]),
    );
    const held = events.filter((e) => e.type === 'k8s.request' && e.data.approval_id !== undefined);
    expect(held.map((e) => e.data.shown)).toEqual(['delete pods doomed-30 -n ci', 'delete pods doomed-32 -n ci']);
    expect(events.filter((e) => e.type === 'approval.decided')).toHaveLength(2);
    const execs = events.filter((e) => e.type === 'k8s.request' && e.data.subresource === 'exec');
    expect(execs.filter((e) => e.data.decision === 'allow').map((e) => e.data.command)).toEqual([
      ['echo', 'token', expect.not.stringContaining('ghp_')],
      ['echo', 'token', expect.not.stringContaining('ghp_')],
    ]);
    expect(JSON.stringify(events)).not.toContain(LEAKED);
  });
});
