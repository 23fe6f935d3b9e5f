import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../gateway/config/load-config.ts';
import { withCredentialMasked } from '../../../gateway/http-adapter/credential-masker.ts';
import { maskedQuery } from '../../../gateway/http-adapter/http-action.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

function load(connection: string[]): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-http-config-'));
  writeFileSync(path.join(dir, 'ca.pem'), 'CA PEM\n');
  writeFileSync(
    path.join(dir, 'gatehouse.yaml'),
    ['connections:', '  api:', ...connection.map((l) => `    ${l}`)].join('\n'),
  );
  return loadConfig(path.join(dir, 'gatehouse.yaml'));
}

describe('type: http connections in gatehouse.yaml', () => {
  it('loads a connection with its credential, TLS and defaults', () => {
    process.env.GATEHOUSE_TEST_API_TOKEN = 'from-env';
    const config = load([
      'type: http',
      'url: https://api.internal.example/v2',
      'credential: { type: bearer, token: "${env:GATEHOUSE_TEST_API_TOKEN}" }',
      'tls: { ca: "${file:ca.pem}" }',
    ]);
    expect(config.connections.api).toEqual({
      type: 'http',
      name: 'api',
      url: 'https://api.internal.example/v2',
      credential: { type: 'bearer', token: 'from-env' },
      tls: { ca: 'CA PEM', verify: true },
      responseTimeoutMs: 300_000,
      maxBodyBytes: 64 * 1024 * 1024,
      audit: 'required',
    });
  });

  it('has no credential unless one is configured', () => {
    expect(load(['type: http', 'url: http://api.internal']).connections.api).toMatchObject({
      credential: { type: 'none' },
    });
  });

  it.each([
    [['type: http', 'url: ftp://api'], /url/],
    [['type: http', 'url: https://api/x?key=1'], /url/],
    [['type: http', 'url: https://api', 'credential: { type: bearer }'], /token|credential/],
    [['type: http', 'url: https://api', 'credential: { type: magic, token: x }'], /credential|type/],
    [['type: http', 'url: https://api', 'tls: { cert: x }'], /key/],
  ])('refuses %j with an error naming the key', (lines, message) => {
    expect(() => load(lines)).toThrow(message);
  });
});

describe('withCredentialMasked', () => {
  const detectors = createContentMasker({ detectors: [] });

  it('masks the credential wherever a target echoes it, basic auth as its base64 pair too', () => {
    const masker = withCredentialMasked(detectors, { type: 'basic', username: 'svc', password: 'hunter2-pw' });
    const pair = Buffer.from('svc:hunter2-pw').toString('base64');
    expect(masker.maskText(`auth: Basic ${pair}; pw=hunter2-pw`)).toEqual({
      text: 'auth: Basic ****; pw=****',
      count: 2,
    });
    expect(masker.mightMatch(Buffer.from(`x ${pair}`), 0, pair.length + 2)).toBe(true);
  });

  it('leaves the detectors alone when there is no credential', () => {
    expect(withCredentialMasked(detectors, { type: 'none' })).toBe(detectors);
  });
});

describe('maskedQuery', () => {
  it('masks values of secret-looking keys and detected secrets, and keeps the rest', () => {
    const masker = createContentMasker({ detectors: ['email'] });
    const query = maskedQuery(
      [
        { key: 'access_token', value: 'abc' },
        { key: 'page', value: '2' },
        { key: 'who', value: 'a@b.example' },
        { key: 'api-key', value: 'k' },
      ],
      masker,
    );
    expect(query).toBe('access_token=****&page=2&who=****&api-key=****');
  });
});
