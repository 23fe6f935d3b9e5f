import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readBody } from '../../../gateway/kubernetes/body-facts.ts';
import { impersonationOf, k8sFacts } from '../../../gateway/kubernetes/k8s-facts.ts';
import { K8S_WHEN_SCHEMA } from '../../../gateway/kubernetes/k8s-when-schema.ts';
import { resolveRequestInfo } from '../../../gateway/kubernetes/request-info.ts';
import { checkKubePath } from '../../../gateway/kubernetes/request-path.ts';
import { createPolicyEngine } from '../../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';

const FILE = 'policies/examples/kubernetes.yaml';
const TEXT = readFileSync(FILE, 'utf8');
const engine = createPolicyEngine(parsePolicyFiles([{ file: FILE, text: TEXT }]));

/** The engine's decision on one request to connection `prod-cluster`, as `action:rule`. */
function decide(claims: Record<string, string>, method: string, target: string, body?: unknown): string {
  const path = checkKubePath(target);
  if (!path.ok) throw new Error(path.refusal.message);
  const info = resolveRequestInfo(method, path.value);
  if (!info.ok) throw new Error(info.refusal.message);
  const read = readBody(info.value, 'application/json', Buffer.from(body === undefined ? '' : JSON.stringify(body)));
  if (!read.ok) throw new Error(read.refusal.message);
  const facts = k8sFacts(info.value, path.value, read.value, impersonationOf({}));
  const decision = engine.decide({
    type: 'k8s.request',
    connection: 'prod-cluster',
    identity: { sessionId: 's', claims },
    facts,
    discovery: false,
  });
  return `${decision.action}:${decision.rule}`;
}

const pr = { event_name: 'pull_request', ref: 'refs/pull/7/merge' };
const main = { event_name: 'push', ref: 'refs/heads/main' };
const privileged = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'i', securityContext: { privileged: true } }] },
};

describe('the Kubernetes example policy (policies/examples/kubernetes.yaml), decided by the engine', () => {
  it('has when.k8s facts the schema accepts', () => {
    const validate = new Ajv({ strict: false }).compile(K8S_WHEN_SCHEMA);
    const rules: { name: string; when: { k8s: unknown } }[] = parse(TEXT).rules;
    for (const rule of rules) expect(validate(rule.when.k8s), rule.name).toBe(true);
  });

  it('is the when.k8s piece of the policy schema', () => {
    const schema = JSON.parse(readFileSync('policies/policy.schema.json', 'utf8'));
    expect(schema.properties.rules.items.properties.when.properties.k8s).toEqual(K8S_WHEN_SCHEMA);
  });

  it('lets pull requests read but not change anything', () => {
    expect(decide(pr, 'GET', '/api/v1/namespaces/ci/pods')).toBe('allow:k8s-pr-read-only');
    expect(decide(pr, 'GET', '/api/v1/namespaces/ci/pods/web/log')).toBe('allow:k8s-pr-read-only');
    expect(decide(pr, 'PATCH', '/apis/apps/v1/namespaces/ci/deployments/web')).toBe('deny:default-deny');
  });

  it('lets main deploy, holds delete and scale, allows exec in CI namespaces only', () => {
    expect(decide(main, 'PATCH', '/apis/apps/v1/namespaces/prod/deployments/web')).toBe('allow:k8s-main-deploys');
    expect(decide(main, 'DELETE', '/apis/apps/v1/namespaces/prod/deployments/web')).toBe(
      'review:k8s-main-delete-needs-approval',
    );
    expect(decide(main, 'PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/scale')).toBe(
      'review:k8s-main-scale-needs-approval',
    );
    expect(decide(main, 'GET', '/api/v1/namespaces/ci/pods/web/exec?command=ls')).toBe(
      'allow:k8s-main-exec-in-ci-namespaces',
    );
    expect(decide(main, 'GET', '/api/v1/namespaces/prod/pods/web/exec?command=ls')).toBe(
      'deny:k8s-no-exec-in-production',
    );
    expect(decide(main, 'GET', '/api/v1/namespaces/staging/pods/web/exec?command=ls')).toBe('deny:default-deny');
    expect(decide(main, 'POST', '/api/v1/namespaces/ci/pods/web/portforward?ports=80')).toBe('deny:default-deny');
  });

  it('denies a privileged pod and RBAC grants even on main', () => {
    expect(decide(main, 'POST', '/api/v1/namespaces/ci/pods', privileged)).toBe('deny:k8s-no-privileged-pods');
    expect(decide(main, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/ci/rolebindings')).toBe(
      'deny:default-deny',
    );
  });
});
