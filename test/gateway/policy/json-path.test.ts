import { describe, expect, it } from 'vitest';
import { compileJsonPath } from '../../../gateway/policy/json-path.ts';

describe('compileJsonPath', () => {
  it('matches keys, indexes and wildcards exactly', () => {
    expect(compileJsonPath('$.spec.force')(['spec', 'force'])).toBe(true);
    expect(compileJsonPath('$.spec.force')(['spec', 'force', 'x'])).toBe(false);
    expect(compileJsonPath('$.items[0].id')(['items', 0, 'id'])).toBe(true);
    expect(compileJsonPath('$.items[0].id')(['items', 1, 'id'])).toBe(false);
    expect(compileJsonPath('$.items[*].id')(['items', 7, 'id'])).toBe(true);
    expect(compileJsonPath('$.*.id')(['anything', 'id'])).toBe(true);
    expect(compileJsonPath("$['odd key'].x")(['odd key', 'x'])).toBe(true);
    expect(compileJsonPath('$')([])).toBe(true);
  });

  it('matches descendants at any depth with ..', () => {
    const test = compileJsonPath('$..token');
    expect(test(['token'])).toBe(true);
    expect(test(['a', 3, 'b', 'token'])).toBe(true);
    expect(test(['a', 'token', 'b'])).toBe(false);
    expect(compileJsonPath('$.data..password')(['data', 'users', 0, 'password'])).toBe(true);
    expect(compileJsonPath('$.data..password')(['meta', 'password'])).toBe(false);
  });

  it.each(['spec.force', '$.a[?(@.x)]', '$.a[1:2]', '$.a[', '$.', "$['a]"])('refuses %s with a fix', (path) => {
    expect(() => compileJsonPath(path)).toThrow(/JSON path .*write e\.g\./);
  });
});
