import { describe, expect, it } from 'vitest';
import { ExecRetryMemory, execKey } from '../../../gateway/kubernetes/exec-retry-memory.ts';
import { isStrippedKubeHeader, rewriteAccept, upgradeKind } from '../../../gateway/kubernetes/kube-headers.ts';
import { classifyKubeRequest, type KubeRequestInput } from '../../../gateway/kubernetes/kube-request.ts';
import { kubeStatus } from '../../../gateway/kubernetes/kube-status.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

const masker = createContentMasker({ detectors: ['aws_access_key'] });
const maskText = (text: string) => masker.maskText(text);
const KINDS: Record<string, string> = { 'apps/v1/deployments': 'Deployment', 'v1/pods': 'Pod' };
const kindOf = (group: string, version: string, resource: string) =>
  KINDS[`${group ? `${group}/` : ''}${version}/${resource}`];

function classify(method: string, target: string, extra: Partial<KubeRequestInput> = {}) {
  return classifyKubeRequest({ method, target, headers: {}, body: null, kindOf, ...extra }, maskText);
}

describe('classifyKubeRequest', () => {
  it('describes a request the way a reviewer reads it and binds approval to method, target and body', () => {
    const del = classify('DELETE', '/apis/apps/v1/namespaces/prod/deployments/web');
    expect(del.ok && del.value.shown).toBe('delete deployments.apps web -n prod');
    expect(del.ok && del.value.text).toBe(
      'DELETE /apis/apps/v1/namespaces/prod/deployments/web\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const exec = classify(
      'GET',
      '/api/v1/namespaces/ci/pods/web/exec?command=env&command=AKIAIOSFODNN7EXAMPLE&container=app',
    );
    expect(exec.ok && exec.value.shown).toBe('exec ci/web -c app -- env ****');
    expect(exec.ok && exec.value.facts.command).toEqual(['env', 'AKIAIOSFODNN7EXAMPLE']);
    const scale = classify('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/scale');
    expect(scale.ok && scale.value.shown).toBe('patch deployments.apps/scale web -n prod');
  });

  it('allows discovery, version and OpenAPI reads without a rule, and nothing else that is not a resource', () => {
    for (const target of [
      '/version',
      '/api',
      '/api/v1',
      '/apis',
      '/apis/apps',
      '/apis/apps/v1',
      '/openapi/v2',
      '/openapi/v3/apis/apps/v1?hash=AB',
    ])
      expect(classify('GET', target).ok && (classify('GET', target) as any).value.discovery).toBe(true);
    for (const [method, target] of [
      ['GET', '/metrics'],
      ['GET', '/healthz'],
      ['POST', '/api'],
      ['GET', '/api/v1/pods'],
    ])
      expect((classify(method!, target!) as any).value.discovery).toBe(false);
    const impersonated = classify('GET', '/api', { headers: { 'impersonate-user': 'admin' } });
    expect(impersonated.ok && impersonated.value.discovery).toBe(false);
  });

  it('checks the body against the kind the target serves at that URL', () => {
    const body = { bytes: Buffer.from('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}'), complete: true };
    const wrong = classify('POST', '/api/v1/namespaces/ci/pods', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(wrong.ok ? '' : wrong.refusal.message).toBe("the body's kind Secret is not Pod, the kind of pods");
  });

  it('refuses a write whose body it could not read whole, and a bad path before anything else', () => {
    const partial = classify('POST', '/api/v1/namespaces/ci/pods', {
      body: { bytes: Buffer.from('{'), complete: false },
    });
    expect(partial.ok ? 0 : partial.refusal.status).toBe(413);
    const traversal = classify('GET', '/api/v1/namespaces/ci%2F..%2Fkube-system/secrets');
    expect(traversal.ok ? '' : traversal.refusal.code).toBe('k8s.path-escape');
  });
});

describe('Kubernetes headers', () => {
  it('rewrites Accept to the JSON offers, dropping protobuf, CBOR and */*', () => {
    expect(rewriteAccept('application/vnd.kubernetes.protobuf,application/json')).toBe('application/json');
    expect(rewriteAccept('application/json;as=Table;v=v1;g=meta.k8s.io,application/json')).toBe(
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    );
    expect(rewriteAccept('application/cbor')).toBe('application/json');
    expect(rewriteAccept('application/com.github.proto-openapi.spec.v2@v1.0+protobuf')).toBe('application/json');
    expect(rewriteAccept(undefined)).toBe('application/json');
    expect(rewriteAccept('application/json, */*')).toBe('application/json');
  });

  it('strips the client credential and impersonation headers', () => {
    expect(
      ['authorization', 'impersonate-user', 'impersonate-extra-scopes', 'accept'].map(isStrippedKubeHeader),
    ).toEqual([true, true, true, false]);
  });

  it('tells WebSocket from SPDY upgrades', () => {
    expect([upgradeKind('websocket'), upgradeKind('SPDY/3.1'), upgradeKind('h2c'), upgradeKind(undefined)]).toEqual([
      'websocket',
      'spdy',
      'other',
      null,
    ]);
  });

  it('writes refusals as a Kubernetes Status with the rule and fix as causes', () => {
    expect(kubeStatus(403, 'gatehouse: denied by rule "no-exec-prod"', { rule: 'no-exec-prod', hint: 'ask' })).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'gatehouse: denied by rule "no-exec-prod" (ask)',
      reason: 'Forbidden',
      details: {
        causes: [
          { reason: 'GatehouseRule', message: 'no-exec-prod' },
          { reason: 'GatehouseHint', message: 'ask' },
        ],
      },
      code: 403,
    });
  });
});

describe('ExecRetryMemory', () => {
  it("answers kubectl's SPDY retry with the refused WebSocket exec's answer once, not a second decision", () => {
    let now = 0;
    const memory = new ExecRetryMemory(() => now);
    const key = execKey('/api/v1/namespaces/prod/pods/web/exec', [
      ['command', 'sh'],
      ['stdin', 'true'],
    ]);
    expect(key).toBe(
      execKey('/api/v1/namespaces/prod/pods/web/exec', [
        ['stdin', 'true'],
        ['command', 'sh'],
      ]),
    );
    memory.rememberRefusal(key, 403, 'gatehouse: denied by rule "no-exec-prod"');
    expect(memory.answerSpdy(key)).toEqual({
      status: 403,
      message: 'gatehouse: denied by rule "no-exec-prod"',
      repeated: true,
    });
    const second = memory.answerSpdy(key);
    expect(second.repeated).toBe(false);
    expect(second.message).toContain('use kubectl 1.30 or newer');
    memory.rememberRefusal(key, 403, 'old');
    now = 31_000;
    expect(memory.answerSpdy(key).repeated).toBe(false);
  });
});
