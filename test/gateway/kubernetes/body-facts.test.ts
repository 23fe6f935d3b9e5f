import { describe, expect, it } from 'vitest';
import { readBody } from '../../../gateway/kubernetes/body-facts.ts';
import { resolveRequestInfo } from '../../../gateway/kubernetes/request-info.ts';
import { checkKubePath } from '../../../gateway/kubernetes/request-path.ts';

function infoOf(method: string, target: string) {
  const path = checkKubePath(target);
  if (!path.ok) throw new Error('bad path');
  const info = resolveRequestInfo(method, path.value);
  if (!info.ok) throw new Error('bad info');
  return info.value;
}

const body = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const deployment = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', ...extra },
  spec: { template: { spec: { containers: [{ name: 'a', image: 'a', securityContext: { privileged: true } }] } } },
});

describe('readBody', () => {
  it('reads the kind, name, namespace and pod settings of a create', () => {
    const create = infoOf('POST', '/apis/apps/v1/namespaces/ci/deployments');
    const read = readBody(create, 'application/json', body(deployment({ namespace: 'ci' })), 'Deployment');
    expect(read.ok && read.value).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      namespace: 'ci',
      pod: { flags: ['privileged'] },
    });
  });

  it('refuses a body whose namespace, name, kind or apiVersion is not what the URL addresses', () => {
    const create = infoOf('POST', '/apis/apps/v1/namespaces/ci/deployments');
    const update = infoOf('PUT', '/apis/apps/v1/namespaces/ci/deployments/other');
    const codes = [
      readBody(create, 'application/json', body(deployment({ namespace: 'prod' })), 'Deployment'),
      readBody(update, 'application/json', body(deployment()), 'Deployment'),
      readBody(create, 'application/json', body({ ...deployment(), kind: 'DaemonSet' }), 'Deployment'),
      readBody(create, 'application/json', body({ ...deployment(), apiVersion: 'apps/v1beta2' }), 'Deployment'),
    ].map((r) => (r.ok ? 'ok' : r.refusal.code));
    expect(codes).toEqual(['k8s.body-mismatch', 'k8s.body-mismatch', 'k8s.body-mismatch', 'k8s.body-mismatch']);
  });

  it('refuses protobuf and CBOR bodies with 415, and an unknown media type', () => {
    const create = infoOf('POST', '/api/v1/namespaces');
    for (const type of ['application/vnd.kubernetes.protobuf', 'application/cbor', 'application/apply-patch+cbor']) {
      const read = readBody(create, type, Buffer.from('k8s\0'));
      expect(read.ok ? 0 : read.refusal.status).toBe(415);
    }
    const other = readBody(create, 'text/plain', Buffer.from('x'));
    expect(other.ok ? '' : other.refusal.code).toBe('k8s.body-type');
  });

  it('reads what a JSON patch writes in place, and treats move and copy as unreadable', () => {
    const patch = infoOf('PATCH', '/apis/apps/v1/namespaces/ci/deployments/web');
    const add = [{ op: 'add', path: '/spec/template/spec/hostPID', value: true }];
    const added = readBody(patch, 'application/json-patch+json', body(add));
    expect(added.ok && added.value?.pod.flags).toEqual(['host_pid']);
    const moved = readBody(patch, 'application/json-patch+json', body([{ op: 'copy', from: '/a', path: '/b' }]));
    expect(moved.ok && moved.value?.pod.opaque).toBe(true);
    const notOps = readBody(patch, 'application/json-patch+json', body({ op: 'add' }));
    expect(notOps.ok ? '' : notOps.refusal.code).toBe('k8s.body-shape');
  });

  it('reads a server-side apply body as YAML and a strategic merge patch as JSON', () => {
    const patch = infoOf('PATCH', '/api/v1/namespaces/ci/pods/p?fieldManager=kubectl');
    const yaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostIPC: true\n';
    const applied = readBody(patch, 'application/apply-patch+yaml', Buffer.from(yaml), 'Pod');
    expect(applied.ok && applied.value).toMatchObject({ type: 'apply-patch', name: 'p', pod: { flags: ['host_ipc'] } });
    const smp = readBody(patch, 'application/strategic-merge-patch+json', body({ spec: { hostNetwork: true } }));
    expect(smp.ok && smp.value?.pod.flags).toEqual(['host_network']);
    const broken = readBody(patch, 'application/strategic-merge-patch+json', Buffer.from('{"spec":'));
    expect(broken.ok ? '' : broken.refusal.code).toBe('k8s.body-parse');
  });

  it('has no facts for an empty body and does not check DeleteOptions against the URL', () => {
    const del = infoOf('DELETE', '/apis/apps/v1/namespaces/ci/deployments/web');
    expect(readBody(del, undefined, Buffer.alloc(0))).toEqual({ ok: true, value: null });
    const options = readBody(
      del,
      'application/json',
      body({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' }),
    );
    expect(options.ok).toBe(true);
  });
});
