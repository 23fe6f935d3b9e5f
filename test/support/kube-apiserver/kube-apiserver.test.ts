import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubectl, kubeconfigText, type Kubectl } from '../kubectl.ts';
import { startKubeApiServer, type KubeApiServer } from './kube-apiserver.ts';
import { findResourceType } from './resource-catalog.ts';

const MANIFEST = (image: string, replicas: number): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: ${image}
        env: [{name: MODE, value: prod}]
---
apiVersion: v1
kind: Secret
metadata: {name: db-creds}
stringData: {password: hunter2-very-secret}
---
apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  containers: [{name: main, image: busybox, env: [{name: GREETING, value: hi-from-env}]}]
`;

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function last<T>(items: readonly T[], test: (item: T) => boolean): T | undefined {
  return [...items].reverse().find(test);
}

let server: KubeApiServer;
beforeAll(async () => {
  server = await startKubeApiServer({ graceMs: 300 });
});
afterAll(async () => {
  await server.close();
});

const deployments = () => findResourceType('apps', 'v1', 'deployments')!;

describe.each([30, 32])('the kube-apiserver stand-in, driven by kubectl 1.%i directly', (minor) => {
  let kubectl: Kubectl;
  const namespace = `team-${minor}`;
  beforeAll(async () => {
    kubectl = createKubectl(
      minor,
      kubeconfigText({ server: server.url, ca: server.tls.ca, token: server.token, namespace }),
    );
    const created = await kubectl.run(['apply', '-f', '-'], {
      stdin: `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${namespace}}\n`,
    });
    expect(created.stdout).toContain(`namespace/${namespace} created`);
  });
  afterAll(() => kubectl.dispose());

  it('applies a manifest, then applies a change as a strategic merge patch that keeps the other fields', async () => {
    const created = await kubectl.run(['apply', '-f', '-'], { stdin: MANIFEST('nginx:1.27', 2) });
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('deployment.apps/web created');
    const updated = await kubectl.run(['apply', '-f', '-'], { stdin: MANIFEST('nginx:1.28', 3) });
    expect(updated.stdout).toContain('deployment.apps/web configured');
    expect(updated.stdout).toContain('pod/shell unchanged');
    const patch = server.requests.find((r) => r.method === 'PATCH' && r.path.endsWith(`/${namespace}/deployments/web`));
    expect(patch?.headers['content-type']).toBe('application/strategic-merge-patch+json');
    const stored = server.cluster.store.get(deployments(), namespace, 'web')!;
    expect(stored.spec.replicas).toBe(3);
    expect(stored.spec.template.spec.containers[0]).toMatchObject({ image: 'nginx:1.28', env: [{ name: 'MODE' }] });
  });

  it('lists pods, deployments and secrets as server-side Tables', async () => {
    const listed = await kubectl.run(['get', 'pods,deployments,secrets']);
    expect(listed.stdout).toMatch(/pod\/shell\s+1\/1\s+Running\s+0\s+\d+s/);
    expect(listed.stdout).toMatch(/deployment\.apps\/web\s+3\/3\s+3\s+3/);
    expect(listed.stdout).toMatch(/secret\/db-creds\s+Opaque\s+1/);
    const get = last(server.requests, (r) => r.path === `/api/v1/namespaces/${namespace}/pods`);
    expect(get?.headers.accept).toContain('as=Table');
  });

  it('describes a secret by sizes and shows its data base64-encoded with -o yaml', async () => {
    const described = await kubectl.run(['describe', 'secret', 'db-creds']);
    expect(described.stdout).toMatch(/password:\s+19 bytes/);
    const yaml = await kubectl.run(['get', 'secret', 'db-creds', '-o', 'yaml']);
    expect(yaml.stdout).toContain(`password: ${Buffer.from('hunter2-very-secret').toString('base64')}`);
    expect(yaml.stdout).not.toContain('stringData:\n');
  });

  it('scales a deployment through its scale subresource', async () => {
    const scaled = await kubectl.run(['scale', 'deployment', 'web', '--replicas=5']);
    expect(scaled.stdout).toContain('deployment.apps/web scaled');
    expect(server.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/web/scale'))).toBe(true);
    expect(server.cluster.store.get(deployments(), namespace, 'web')!.spec.replicas).toBe(5);
  });

  it('serves logs and runs exec -i over the v5 WebSocket protocol with stdin, stderr and the exit code', async () => {
    server.cluster.logs.append(namespace, 'shell', 'main', 'line two\n');
    const logs = await kubectl.run(['logs', 'shell']);
    expect(logs.stdout).toBe('container main of pod shell started\nline two\n');
    const exec = await kubectl.run(
      ['exec', '-i', 'shell', '--', 'sh', '-c', 'cat; echo "env=$GREETING"; echo oops >&2; exit 3'],
      { stdin: 'typed input\n' },
    );
    expect(exec.stdout).toBe('typed input\nenv=hi-from-env\n');
    expect(exec.stderr).toContain('oops');
    expect(exec.code).toBe(3);
    const record = last(server.execs, (e) => e.namespace === namespace)!;
    expect(record).toMatchObject({ protocol: 'v5.channel.k8s.io', stdin: 'typed input\n', exitCode: 3 });
  });

  it('watches a pod turn Terminating and go while delete --wait completes', async () => {
    const watch = kubectl.start(['get', 'pods', '-w']);
    let seen = '';
    watch.stdout!.on('data', (chunk: Buffer) => (seen += chunk.toString('utf8')));
    await waitFor(() => /shell\s+1\/1\s+Running/.test(seen), 'the watch to list the pod');
    const started = Date.now();
    const deleted = await kubectl.run(['delete', 'pod', 'shell', '--wait']);
    expect(deleted.stdout).toContain('pod "shell" deleted');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await waitFor(() => /Terminating/.test(seen), 'the watch to show Terminating');
    watch.kill();
    expect(server.cluster.store.get(findResourceType('', 'v1', 'pods')!, namespace, 'shell')).toBeUndefined();
  });

  it('server-side applies a manifest with its field manager', async () => {
    const applied = await kubectl.run(['apply', '--server-side', '-f', '-'], { stdin: MANIFEST('nginx:2', 1) });
    expect(applied.stdout).toContain('deployment.apps/web serverside-applied');
    const stored = server.cluster.store.get(deployments(), namespace, 'web')!;
    expect(stored.spec.template.spec.containers[0].image).toBe('nginx:2');
    expect(stored.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'kubectl', operation: 'Apply' }),
    );
  });

  it('served and stored only objects that match the Kubernetes schemas', () => {
    expect(server.cluster.problems).toEqual([]);
  });
});
