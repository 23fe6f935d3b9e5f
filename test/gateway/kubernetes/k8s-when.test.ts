import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { K8S_WHEN_SCHEMA } from '../../../gateway/kubernetes/k8s-when-schema.ts';
import { readBody } from '../../../gateway/kubernetes/body-facts.ts';
import { impersonationOf, k8sFacts, type K8sFacts } from '../../../gateway/kubernetes/k8s-facts.ts';
import { compileK8sWhen, type K8sWhen, type RuleAction } from '../../../gateway/kubernetes/k8s-when.ts';
import { resolveRequestInfo } from '../../../gateway/kubernetes/request-info.ts';
import { checkKubePath } from '../../../gateway/kubernetes/request-path.ts';

function facts(
  method: string,
  target: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): K8sFacts {
  const path = checkKubePath(target);
  if (!path.ok) throw new Error(path.refusal.message);
  const info = resolveRequestInfo(method, path.value);
  if (!info.ok) throw new Error(info.refusal.message);
  const raw = options.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(options.body));
  const body = readBody(info.value, 'application/json', raw);
  if (!body.ok) throw new Error(body.refusal.message);
  return k8sFacts(info.value, path.value, body.value, impersonationOf(options.headers ?? {}));
}

const matches = (when: K8sWhen, f: K8sFacts, action: RuleAction = 'allow'): boolean => compileK8sWhen(when, action)(f);

const privilegedPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'evil:1', securityContext: { privileged: true } }] },
};

describe('compileK8sWhen', () => {
  it('matches verbs, resources with groups, namespaces and names as globs', () => {
    const get = facts('GET', '/apis/apps/v1/namespaces/prod-eu/deployments/web-1');
    expect(
      matches({ verbs: ['get'], resources: ['deployments.apps'], namespaces: ['prod-*'], names: ['web-*'] }, get),
    ).toBe(true);
    expect(matches({ resources: ['deployments.batch'] }, get)).toBe(false);
    expect(matches({ resources: ['*.apps'] }, get)).toBe(true);
    expect(matches({ namespaces: ['staging'] }, get)).toBe(false);
    expect(matches({ verbs: ['list', 'watch'] }, get)).toBe(false);
    expect(matches({ api_groups: ['core'] }, facts('GET', '/api/v1/namespaces/x/pods'))).toBe(true);
  });

  it('never matches a cluster-scoped request with a namespaces test', () => {
    expect(matches({ namespaces: ['*'] }, facts('GET', '/api/v1/nodes'))).toBe(false);
  });

  it('follows RBAC for allow rules (pods does not cover pods/log) but lets deny rules cover subresources', () => {
    const log = facts('GET', '/api/v1/namespaces/x/pods/p/log');
    expect(matches({ resources: ['pods'] }, log, 'allow')).toBe(false);
    expect(matches({ resources: ['pods/log'] }, log, 'allow')).toBe(true);
    expect(matches({ resources: ['pods'] }, log, 'deny')).toBe(true);
  });

  it('lets an allow rule match exec, port-forward, tokens and impersonation only when it names them', () => {
    const exec = facts('GET', '/api/v1/namespaces/x/pods/p/exec?command=ls');
    expect(matches({ verbs: ['create'] }, exec)).toBe(false);
    expect(matches({ verbs: ['create'] }, exec, 'deny')).toBe(true);
    expect(matches({ resources: ['pods/exec'] }, exec)).toBe(true);
    expect(matches({ subresources: ['exec'] }, exec)).toBe(true);
    const token = facts('POST', '/api/v1/namespaces/x/serviceaccounts/ci/token');
    expect(matches({ resources: ['serviceaccounts'] }, token)).toBe(false);
    expect(matches({ resources: ['serviceaccounts/token'] }, token)).toBe(true);
    const asAdmin = facts('GET', '/api/v1/namespaces/x/pods', { headers: { 'Impersonate-User': 'admin' } });
    expect(matches({ verbs: ['list'] }, asAdmin)).toBe(false);
    expect(matches({ verbs: ['list', 'impersonate'] }, asAdmin)).toBe(true);
  });

  it('treats creating roles as escalate and bindings as bind', () => {
    const binding = facts('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/x/rolebindings');
    expect(binding.markers).toEqual(['bind']);
    expect(matches({ verbs: ['create'] }, binding)).toBe(false);
    expect(matches({ verbs: ['create', 'bind'] }, binding)).toBe(true);
    expect(facts('PATCH', '/apis/rbac.authorization.k8s.io/v1/clusterroles/r').markers).toEqual(['escalate']);
    expect(facts('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/r').markers).toEqual([]);
  });

  it('matches non-resource paths only through a paths test', () => {
    const metrics = facts('GET', '/metrics');
    expect(matches({ verbs: ['get'] }, metrics)).toBe(false);
    expect(matches({ paths: ['/metrics'] }, metrics)).toBe(true);
    expect(matches({ resources: ['*'] }, metrics, 'deny')).toBe(false);
    expect(matches({ paths: ['/metrics'] }, facts('GET', '/api/v1/pods'))).toBe(false);
  });

  it('decides an exec by its program and command line like an SSH exec', () => {
    const exec = facts(
      'POST',
      '/api/v1/namespaces/x/pods/p/exec?command=%2Fbin%2Fsh&command=-c&command=cat+%2Fetc%2Fpasswd',
    );
    const when = { subresources: ['exec'] };
    expect(matches({ ...when, program: ['sh'] }, exec)).toBe(true);
    expect(matches({ ...when, program: ['/bin/sh'] }, exec)).toBe(true);
    expect(matches({ ...when, command: ['sh -c cat *'] }, exec)).toBe(false);
    expect(matches({ ...when, command: ['/bin/sh -c cat *'] }, exec)).toBe(true);
    expect(matches({ ...when, program: ['ls'] }, exec)).toBe(false);
    expect(matches({ program: ['*'] }, facts('GET', '/api/v1/namespaces/x/pods'), 'deny')).toBe(false);
  });

  it('matches pod-spec settings, capabilities and images in a body', () => {
    const create = facts('POST', '/api/v1/namespaces/x/pods', { body: privilegedPod });
    expect(matches({ pod: ['privileged', 'host_network'] }, create, 'deny')).toBe(true);
    expect(matches({ without_pod: ['privileged'] }, create)).toBe(false);
    expect(matches({ images: ['evil:*'] }, create, 'deny')).toBe(true);
    expect(matches({ pod: ['privileged'] }, facts('GET', '/api/v1/namespaces/x/pods/p'), 'deny')).toBe(false);
    expect(matches({ without_pod: ['privileged'] }, facts('GET', '/api/v1/namespaces/x/pods/p'))).toBe(true);
  });
});

describe('the when.k8s schema', () => {
  const validate = new Ajv({ strict: false }).compile(K8S_WHEN_SCHEMA);
  it('accepts the facts the compiler reads and refuses unknown keys and flags', () => {
    const when = {
      verbs: ['delete'],
      resources: ['deployments.apps'],
      subresources: ['scale'],
      api_groups: ['', 'apps'],
      namespaces: ['prod-*'],
      names: ['web'],
      pod: ['privileged'],
      without_pod: ['host_path'],
      capabilities: ['NET_ADMIN'],
      host_paths: ['/var/run/*'],
      service_accounts: ['default'],
      images: ['nginx:*'],
      program: ['sh'],
      command: ['sh -c *'],
      paths: ['/metrics'],
    };
    expect(validate(when)).toBe(true);
    expect(() => compileK8sWhen(when as K8sWhen, 'deny')).not.toThrow();
    expect(validate({ verb: ['get'] })).toBe(false);
    expect(validate({ pod: ['root'] })).toBe(false);
    expect(validate({ namespaces: [] })).toBe(false);
  });
});
