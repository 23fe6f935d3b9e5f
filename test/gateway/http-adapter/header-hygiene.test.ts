import { describe, expect, it } from 'vitest';
import { placeCredential, targetQuery } from '../../../gateway/http-adapter/credential.ts';
import {
  clientResponseHeaders,
  localLocation,
  targetRequestHeaders,
} from '../../../gateway/http-adapter/header-hygiene.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

const noDetectors = createContentMasker({ detectors: [] });
const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe('placeCredential', () => {
  it('builds bearer, basic, named-header and query credentials', () => {
    expect(placeCredential({ type: 'bearer', token: 't0k' })).toEqual({
      header: { name: 'authorization', value: 'Bearer t0k' },
    });
    expect(placeCredential({ type: 'basic', username: 'u', password: 'p:w' }).header?.value).toBe(
      `Basic ${Buffer.from('u:p:w').toString('base64')}`,
    );
    expect(placeCredential({ type: 'header', name: 'X-Api-Key', value: 'k' })).toEqual({
      header: { name: 'x-api-key', value: 'k' },
    });
    expect(placeCredential({ type: 'query', name: 'api_key', value: 'a b' })).toEqual({
      query: { name: 'api_key', value: 'a b' },
    });
  });
});

describe('targetQuery', () => {
  const placement = placeCredential({ type: 'query', name: 'api_key', value: 's&cret' });

  it('appends the credential and drops a client parameter of the same name', () => {
    expect(targetQuery('', [], placement)).toBe('api_key=s%26cret');
    expect(targetQuery('a=1', [{ key: 'a', value: '1' }], placement)).toBe('a=1&api_key=s%26cret');
    const params = [
      { key: 'api_key', value: 'mine' },
      { key: 'b', value: '2' },
      { key: 'api_key', value: 'x' },
    ];
    expect(targetQuery('api_key=mine&b=2&api%5Fkey=x', params, placement)).toBe('b=2&api_key=s%26cret');
  });

  it('leaves the query alone for a header credential', () => {
    expect(targetQuery('a=1', [{ key: 'a', value: '1' }], placeCredential({ type: 'bearer', token: 't' }))).toBe('a=1');
  });
});

describe('targetRequestHeaders', () => {
  const raw = [
    'Host',
    'localhost:9999',
    'Authorization',
    'Bearer local-password',
    'Cookie',
    'sid=1',
    'Proxy-Authorization',
    'Basic x',
    'X-Forwarded-For',
    '10.0.0.1',
    'Forwarded',
    'for=1.2.3.4',
    'X-Original-URL',
    '/admin',
    'Connection',
    'keep-alive, X-Secret-Hop',
    'X-Secret-Hop',
    'v',
    'Keep-Alive',
    'timeout=5',
    'Accept-Encoding',
    'gzip, br',
    'Range',
    'bytes=0-10',
    'X-Api-Key',
    'client-chosen',
    'Accept',
    'application/json',
    'User-Agent',
    'curl/8',
  ];

  it('keeps end-to-end headers and replaces credentials with the connection one', () => {
    const headers = targetRequestHeaders(raw, {
      host: 'api.internal:8443',
      credential: placeCredential({ type: 'header', name: 'X-Api-Key', value: 'gateway-key' }),
      contentLength: 5,
    });
    expect(headers).toEqual([
      ['host', 'api.internal:8443'],
      ['Accept', 'application/json'],
      ['User-Agent', 'curl/8'],
      ['accept-encoding', 'identity'],
      ['content-length', '5'],
      ['x-api-key', 'gateway-key'],
    ]);
  });

  it('lets a protocol built on this adapter drop more', () => {
    const headers = targetRequestHeaders(['Impersonate-User', 'admin', 'Accept', '*/*'], {
      host: 'h',
      credential: {},
      drop: (name) => name.startsWith('impersonate-'),
    });
    expect(headers.map(([name]) => name)).toEqual(['host', 'Accept', 'accept-encoding']);
  });
});

describe('clientResponseHeaders', () => {
  const base = new URL('https://api.internal/v2');

  it('drops cookies, challenges and hop-by-hop headers, and masks detected secrets', () => {
    const detectors = createContentMasker({ detectors: ['github_token'] });
    const result = clientResponseHeaders(
      [
        'Content-Type',
        'application/json',
        'Set-Cookie',
        'sid=abc',
        'WWW-Authenticate',
        'Basic realm="x"',
        'Connection',
        'close',
        'Transfer-Encoding',
        'chunked',
        'X-Debug-Token',
        TOKEN,
        'Content-Length',
        '10',
      ],
      { bodyRewritten: false, targetBase: base, detectors },
    );
    expect(result.headers).toEqual([
      ['Content-Type', 'application/json'],
      ['X-Debug-Token', '****'],
      ['Content-Length', '10'],
    ]);
    expect(result.detected).toBe(1);
  });

  it('drops length, encoding and digests of a rewritten body and keeps a redirect on the proxy', () => {
    const result = clientResponseHeaders(
      [
        'Content-Length',
        '10',
        'Content-Encoding',
        'gzip',
        'Digest',
        'sha-256=x',
        'Location',
        'https://api.internal/v2/next?a=1',
      ],
      { bodyRewritten: true, targetBase: base, detectors: noDetectors },
    );
    expect(result.headers).toEqual([['Location', '/next?a=1']]);
  });
});

describe('localLocation', () => {
  it('rewrites only locations inside the target base', () => {
    const base = new URL('https://api.internal/v2/');
    expect(localLocation('/v2/a', base)).toBe('/a');
    expect(localLocation('https://api.internal/v2', base)).toBe('/');
    expect(localLocation('https://api.internal/v20/a', base)).toBe('https://api.internal/v20/a');
    expect(localLocation('https://elsewhere/v2/a', base)).toBe('https://elsewhere/v2/a');
  });
});
