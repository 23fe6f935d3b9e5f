import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMerge } from './patches.ts';

describe('the stand-in patch types', () => {
  it('merge patch replaces lists and deletes keys set to null', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null }, l: [3] })).toEqual({
      a: 1,
      b: { d: 3 },
      l: [3],
    });
  });

  it('JSON patch applies add, replace, remove, move and fails a test operation that does not hold', () => {
    const doc = { spec: { replicas: 1, list: ['a'] } };
    expect(
      jsonPatch(doc, [
        { op: 'replace', path: '/spec/replicas', value: 3 },
        { op: 'add', path: '/spec/list/-', value: 'b' },
        { op: 'move', from: '/spec/list', path: '/spec/items' },
        { op: 'add', path: '/metadata', value: { name: 'x~y' } },
        { op: 'remove', path: '/metadata/name' },
      ]),
    ).toEqual({ spec: { replicas: 3, items: ['a', 'b'] }, metadata: {} });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/spec/replicas', value: 2 }])).toThrow('test failed');
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow('does not exist');
  });

  it('strategic merge merges containers and env by name, replaces args, and honours $patch: delete', () => {
    const current = {
      spec: {
        containers: [
          { name: 'app', image: 'a:1', args: ['x'], env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 's:1' },
        ],
      },
    };
    const patch = {
      spec: {
        containers: [
          { name: 'app', image: 'a:2', args: ['y'], env: [{ name: 'B', value: '2' }] },
          { name: 'side', $patch: 'delete' },
        ],
      },
    };
    expect(strategicMerge(current, patch)).toEqual({
      spec: {
        containers: [
          {
            name: 'app',
            image: 'a:2',
            args: ['y'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
        ],
      },
    });
  });

  it('strategic merge drops the $setElementOrder and $retainKeys directives and unions finalizers', () => {
    const merged = strategicMerge(
      {
        metadata: { finalizers: ['a'] },
        spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
      },
      {
        metadata: { finalizers: ['b'] },
        spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' }, '$setElementOrder/containers': [{ name: 'x' }] },
      },
    );
    expect(merged).toEqual({ metadata: { finalizers: ['a', 'b'] }, spec: { strategy: { type: 'Recreate' } } });
  });
});
