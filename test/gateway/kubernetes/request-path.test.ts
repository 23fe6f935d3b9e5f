import { describe, expect, it } from 'vitest';
import { checkKubePath, queryValue, queryValues } from '../../../gateway/kubernetes/request-path.ts';

function refusal(target: string): string | undefined {
  const checked = checkKubePath(target);
  return checked.ok ? undefined : checked.refusal.code;
}

describe('checkKubePath', () => {
  it('splits a canonical path and decodes the query as Go does (+ is a space, repeated keys kept in order)', () => {
    const checked = checkKubePath(
      '/api/v1/namespaces/ci/pods/web/exec?command=sh&command=-c&command=echo+a%26b&stdin=true',
    );
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.segments).toEqual(['api', 'v1', 'namespaces', 'ci', 'pods', 'web', 'exec']);
    expect(queryValues(checked.value, 'command')).toEqual(['sh', '-c', 'echo a&b']);
    expect(queryValue(checked.value, 'stdin')).toBe('true');
    expect(queryValue(checked.value, 'tty')).toBeUndefined();
  });

  it('keeps names with the characters RBAC names use', () => {
    expect(refusal('/apis/rbac.authorization.k8s.io/v1/clusterroles/system:controller:job-controller')).toBeUndefined();
    expect(refusal('/')).toBeUndefined();
  });

  it('refuses any percent-escape in the path, encoded slashes and dots included', () => {
    expect(refusal('/api/v1/namespaces/ci%2Fother/pods')).toBe('k8s.path-escape');
    expect(refusal('/api/v1/namespaces/%2e%2e/pods')).toBe('k8s.path-escape');
    expect(refusal('/api/v1/namespaces/ci/pods/w%252Fx')).toBe('k8s.path-escape');
  });

  it('refuses empty, dot and dot-dot segments and a trailing slash', () => {
    expect(refusal('/api/v1//namespaces')).toBe('k8s.path-empty-segment');
    expect(refusal('/api/v1/namespaces/')).toBe('k8s.path-empty-segment');
    expect(refusal('/api/v1/namespaces/ci/../kube-system/secrets')).toBe('k8s.path-dot-segment');
    expect(refusal('/api/./v1')).toBe('k8s.path-dot-segment');
  });

  it('refuses backslashes, non-ASCII, fragments, absolute targets and a query Go would read differently', () => {
    expect(refusal('/api/v1/namespaces\\ci')).toBe('k8s.path-character');
    expect(refusal('/api/v1/namespaces/c\u0131')).toBe('k8s.path-character');
    expect(refusal('/api/v1/pods#x')).toBe('k8s.target-fragment');
    expect(refusal('https://evil/api/v1/pods')).toBe('k8s.target-form');
    expect(refusal('/api/v1/pods?watch=1;labelSelector=x')).toBe('k8s.query');
    expect(refusal('/api/v1/pods?watch=%zz')).toBe('k8s.query');
    expect(refusal('/api/v1/pods?x=%ff')).toBe('k8s.query');
  });
});
