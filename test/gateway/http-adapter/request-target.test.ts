import { describe, expect, it } from 'vitest';
import { checkRequestTarget } from '../../../gateway/http-adapter/request-target.ts';

function refusedCode(url: string): string | undefined {
  const result = checkRequestTarget(url);
  return result.ok ? undefined : result.refusal.code;
}

describe('checkRequestTarget', () => {
  it('decodes segments for policy and keeps reserved escapes encoded for the target', () => {
    const result = checkRequestTarget('/v1/users/a%20b/%7Ejohn/x%3ay?limit=10&q=a+b%21');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.segments).toEqual(['v1', 'users', 'a b', '~john', 'x:y']);
    expect(result.value.decodedPath).toBe('/v1/users/a b/~john/x:y');
    expect(result.value.path).toBe('/v1/users/a%20b/~john/x%3Ay');
    expect(result.value.query).toEqual([
      { key: 'limit', value: '10' },
      { key: 'q', value: 'a b!' },
    ]);
    expect(result.value.rawQuery).toBe('limit=10&q=a+b%21');
  });

  it('keeps the root and a trailing slash, which match the same rule paths', () => {
    const root = checkRequestTarget('/');
    const trailing = checkRequestTarget('/a/b/');
    expect(root.ok && root.value).toMatchObject({ path: '/', segments: [], decodedPath: '/' });
    expect(trailing.ok && trailing.value).toMatchObject({ path: '/a/b/', segments: ['a', 'b'], decodedPath: '/a/b' });
  });

  it('percent-encodes raw characters a path may not carry, so the target sees one form', () => {
    const result = checkRequestTarget('/a|b/{c}');
    expect(result.ok && result.value.path).toBe('/a%7Cb/%7Bc%7D');
    expect(result.ok && result.value.decodedPath).toBe('/a|b/{c}');
  });

  it('decodes UTF-8 segments', () => {
    const result = checkRequestTarget('/caf%C3%A9');
    expect(result.ok && result.value.decodedPath).toBe('/café');
  });

  it.each([
    ['/a/../admin', 'http.path-traversal'],
    ['/a/./b', 'http.path-traversal'],
    ['/..', 'http.path-traversal'],
    ['/a/%2e%2e/admin', 'http.path-traversal'],
    ['/a/.%2E/admin', 'http.path-traversal'],
    ['/a/%2e/admin', 'http.path-traversal'],
    ['/a/.../b', 'http.path-traversal'],
    ['/a/..%20/b', 'http.path-traversal'],
    ['/a/..;/admin', 'http.path-semicolon'],
    ['/admin;jsessionid=1', 'http.path-semicolon'],
    ['/a/%2F/b', 'http.path-encoded-slash'],
    ['/a%2fb', 'http.path-encoded-slash'],
    ['/a%5Cb', 'http.path-backslash'],
    ['/a\\b', 'http.path-backslash'],
    ['//evil.example/x', 'http.path-empty-segment'],
    ['/a//b', 'http.path-empty-segment'],
    ['/a/%252e%252e/b', 'http.path-double-encoding'],
    ['/a/%252F', 'http.path-double-encoding'],
    ['/a/%C0%AE%C0%AE/b', 'http.path-encoding'],
    ['/a/%C0%AF', 'http.path-encoding'],
    ['/a/%E0%80%AE', 'http.path-encoding'],
    ['/a/%ED%A0%80', 'http.path-encoding'],
    ['/a/%FF', 'http.path-encoding'],
    ['/a/%00', 'http.path-character'],
    ['/a/%0d%0aX-Injected:1', 'http.path-character'],
    ['/a/%zz', 'http.path-escape'],
    ['/a/%4', 'http.path-escape'],
    ['/a/%EF%BC%8F/b', 'http.path-lookalike'],
    ['/a/%E2%88%95etc', 'http.path-lookalike'],
    ['/a/%EF%BC%8E%EF%BC%8E', 'http.path-lookalike'],
    ['/a#frag', 'http.target-fragment'],
    ['http://evil/x', 'http.target-form'],
    ['*', 'http.target-form'],
    ['evil:443', 'http.target-form'],
    ['/a?x=1;y=2', 'http.query-semicolon'],
    ['/a?x=%zz', 'http.query-encoding'],
    ['/a?x%00=1', 'http.query-encoding'],
    ['/a?x=%C0%AE', 'http.query-encoding'],
  ])('refuses %s (%s)', (url, code) => {
    expect(refusedCode(url)).toBe(code);
  });

  it('gives every refusal a 400 and a message that says how to send the request instead', () => {
    const result = checkRequestTarget('/a/%2e%2e/b');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.status).toBe(400);
    expect(result.refusal.message).toMatch(/dot segments/);
  });

  it('allows line breaks in query values but not in keys', () => {
    const value = checkRequestTarget('/search?q=a%0Ab');
    expect(value.ok && value.value.query).toEqual([{ key: 'q', value: 'a\nb' }]);
    expect(refusedCode('/search?a%0Ab=1')).toBe('http.query-encoding');
  });

  it('lists repeated and valueless keys', () => {
    const result = checkRequestTarget('/a?force&x=1&x=2&&');
    expect(result.ok && result.value.query).toEqual([
      { key: 'force', value: '' },
      { key: 'x', value: '1' },
      { key: 'x', value: '2' },
    ]);
  });
});

describe('checkRequestTarget method overrides', () => {
  it('refuses a _method query parameter, raw or encoded', () => {
    expect(refusedCode('/a?_method=DELETE')).toBe('http.method-override');
    expect(refusedCode('/a?%5Fmethod=DELETE')).toBe('http.method-override');
  });
});
