import { describe, expect, it } from 'vitest';
import { resolveRequestInfo, type KubeRequestInfo } from '../../../gateway/kubernetes/request-info.ts';
import { checkKubePath } from '../../../gateway/kubernetes/request-path.ts';

function info(method: string, target: string): KubeRequestInfo {
  const path = checkKubePath(target);
  if (!path.ok) throw new Error(path.refusal.message);
  const resolved = resolveRequestInfo(method, path.value);
  if (!resolved.ok) throw new Error(resolved.refusal.message);
  return resolved.value;
}

const pick = (i: KubeRequestInfo) => [i.verb, i.apiGroup, i.apiVersion, i.namespace, i.resource, i.subresource, i.name];

describe('resolveRequestInfo (the API server RequestInfo rules)', () => {
  it.each([
    ['GET', '/api/v1/namespaces', ['list', '', 'v1', '', 'namespaces', '', '']],
    ['GET', '/api/v1/namespaces/other', ['get', '', 'v1', 'other', 'namespaces', '', 'other']],
    ['GET', '/api/v1/namespaces/other/pods', ['list', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/api/v1/namespaces/other/pods/foo', ['get', '', 'v1', 'other', 'pods', '', 'foo']],
    ['HEAD', '/api/v1/namespaces/other/pods/foo', ['get', '', 'v1', 'other', 'pods', '', 'foo']],
    ['GET', '/api/v1/pods', ['list', '', 'v1', '', 'pods', '', '']],
    ['GET', '/api/v1/namespaces/other/pods?watch=true', ['watch', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/api/v1/namespaces/other/pods?watch=false', ['list', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/api/v1/namespaces/other/pods?watch=0', ['list', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/api/v1/namespaces/other/pods?watch=', ['watch', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/api/v1/watch/namespaces/other/pods', ['watch', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/api/v1/proxy/namespaces/other/pods/foo/bar', ['proxy', '', 'v1', 'other', 'pods', '', 'foo']],
    ['GET', '/api/v1/namespaces/other/pods/foo/status', ['get', '', 'v1', 'other', 'pods', 'status', 'foo']],
    ['PUT', '/api/v1/namespaces/other/finalize', ['update', '', 'v1', 'other', 'namespaces', 'finalize', 'other']],
    ['POST', '/api/v1/namespaces/other/pods', ['create', '', 'v1', 'other', 'pods', '', '']],
    ['PUT', '/api/v1/namespaces/other/pods/foo', ['update', '', 'v1', 'other', 'pods', '', 'foo']],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/other/deployments/web/scale',
      ['patch', 'apps', 'v1', 'other', 'deployments', 'scale', 'web'],
    ],
    ['DELETE', '/api/v1/namespaces/other/pods/foo', ['delete', '', 'v1', 'other', 'pods', '', 'foo']],
    ['DELETE', '/api/v1/namespaces/other/pods', ['deletecollection', '', 'v1', 'other', 'pods', '', '']],
    ['GET', '/apis/batch/v1/cronjobs', ['list', 'batch', 'v1', '', 'cronjobs', '', '']],
    ['OPTIONS', '/api/v1/namespaces/other/pods', ['', '', 'v1', 'other', 'pods', '', '']],
  ])('%s %s', (method, target, expected) => {
    const resolved = info(method, target);
    expect(resolved.isResourceRequest).toBe(true);
    expect(pick(resolved)).toEqual(expected);
  });

  it('normalises exec, attach and port-forward to create whatever the HTTP method', () => {
    for (const method of ['GET', 'POST'])
      for (const sub of ['exec', 'attach', 'portforward'])
        expect(info(method, `/api/v1/namespaces/ci/pods/web/${sub}?command=ls`).verb).toBe('create');
  });

  it('takes the name of a list or watch from a metadata.name field selector, as the server does', () => {
    expect(info('GET', '/api/v1/namespaces/ci/pods?fieldSelector=metadata.name%3Dweb&watch=1')).toMatchObject({
      verb: 'watch',
      name: 'web',
      fieldSelector: 'metadata.name=web',
    });
    expect(info('GET', '/api/v1/namespaces/ci/pods?fieldSelector=metadata.name%3D%3Dweb').name).toBe('web');
    expect(info('GET', '/api/v1/namespaces/ci/pods?fieldSelector=metadata.name!%3Dweb').name).toBe('');
    expect(info('GET', '/api/v1/namespaces/ci/pods?fieldSelector=metadata.name%3Da%2Fb').name).toBe('');
  });

  it('refuses a field selector the server could not parse', () => {
    const path = checkKubePath('/api/v1/pods?fieldSelector=metadata.name');
    expect(path.ok && resolveRequestInfo('GET', path.value).ok).toBe(false);
  });

  it('treats discovery, version and other short paths as non-resource requests with the HTTP verb', () => {
    for (const target of [
      '/api',
      '/api/v1',
      '/apis',
      '/apis/apps',
      '/apis/apps/v1',
      '/version',
      '/openapi/v3',
      '/healthz',
    ]) {
      const resolved = info('GET', target);
      expect(resolved).toMatchObject({ isResourceRequest: false, verb: 'get', path: target, resource: '' });
    }
    expect(info('POST', '/logs/x').verb).toBe('post');
  });
});
