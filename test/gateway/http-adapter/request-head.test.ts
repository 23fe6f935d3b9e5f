import { describe, expect, it } from 'vitest';
import { checkRequestHead, type RawRequestHead } from '../../../gateway/http-adapter/request-head.ts';

function head(method: string, headers: string[], httpVersion = '1.1', url = '/'): RawRequestHead {
  return { method, url, httpVersion, rawHeaders: headers };
}

function code(h: RawRequestHead): string | undefined {
  const result = checkRequestHead(h);
  return result.ok ? undefined : result.refusal.code;
}

describe('checkRequestHead', () => {
  it('accepts a plain GET and groups headers by lower-case name', () => {
    const result = checkRequestHead(head('GET', ['Host', 'a', 'Accept', 'x', 'accept', 'y']));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.body).toBe('none');
    expect(result.value.headers.get('accept')).toEqual(['x', 'y']);
  });

  it('knows the body framing: chunked, a length, or none', () => {
    const chunked = checkRequestHead(head('POST', ['Host', 'a', 'Transfer-Encoding', 'Chunked']));
    const length = checkRequestHead(head('POST', ['Host', 'a', 'Content-Length', '12']));
    const empty = checkRequestHead(head('POST', ['Host', 'a', 'Content-Length', '0']));
    expect(chunked.ok && chunked.value.body).toBe('chunked');
    expect(length.ok && length.value).toMatchObject({ body: 'length', contentLength: 12 });
    expect(empty.ok && empty.value.body).toBe('none');
  });

  it.each([
    ['a repeated Host', head('GET', ['Host', 'a', 'Host', 'b']), 'http.duplicate-header'],
    [
      'a repeated Content-Type',
      head('POST', ['Host', 'a', 'Content-Type', 'a/b', 'Content-Type', 'c/d']),
      'http.duplicate-header',
    ],
    ['a repeated Authorization', head('GET', ['Authorization', 'a', 'authorization', 'b']), 'http.duplicate-header'],
    ['Transfer-Encoding gzip, chunked', head('POST', ['Transfer-Encoding', 'gzip, chunked']), 'http.framing'],
    ['Transfer-Encoding identity, chunked', head('POST', ['Transfer-Encoding', 'identity, chunked']), 'http.framing'],
    ['HTTP/0.9', head('GET', [], '0.9'), 'http.version'],
    ['HTTP/2.0', head('GET', [], '2.0'), 'http.version'],
    ['CONNECT', head('CONNECT', ['Host', 'a:443'], '1.1', 'a:443'), 'http.connect'],
    ['TRACE', head('TRACE', ['Host', 'a']), 'http.trace'],
    ['X-HTTP-Method-Override', head('POST', ['X-HTTP-Method-Override', 'DELETE']), 'http.method-override'],
    ['Expect other than 100-continue', head('POST', ['Expect', 'something']), 'http.expect'],
  ])('refuses %s', (_name, h, expected) => {
    expect(code(h)).toBe(expected);
  });

  it('answers a refused version with 505 and a refused Expect with 417', () => {
    const version = checkRequestHead(head('GET', [], '2.0'));
    const expectation = checkRequestHead(head('POST', ['Expect', 'x']));
    expect(!version.ok && version.refusal.status).toBe(505);
    expect(!expectation.ok && expectation.refusal.status).toBe(417);
  });

  it('accepts HTTP/1.0 and Expect: 100-continue', () => {
    expect(code(head('GET', [], '1.0'))).toBeUndefined();
    expect(code(head('PUT', ['Expect', '100-Continue', 'Content-Length', '3']))).toBeUndefined();
  });
});
