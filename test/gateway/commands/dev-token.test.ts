import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../../gateway/commands/dev-token.ts';
import { DEV_ISSUER } from '../../../gateway/identity/dev-issuer.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-dev-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function writeConfig(name: string, issuers: string): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    [
      `store: "memory://${name}"`,
      `issuers: ${issuers}`,
      'public_url: https://gatehouse.local',
      'connections:',
      '  app-db: { type: postgres, url: "postgres://u@h/db" }',
    ].join('\n'),
  );
  return file;
}

describe('gatehouse dev-token', () => {
  it('mints an ES256 token with GitHub claims, the given claims and the gateway URL as audience', async () => {
    const config = writeConfig('dev.yaml', '[{ issuer: dev }]');
    const claims = path.join(dir, 'claims.yaml');
    writeFileSync(claims, 'repository: acme/api\nref: refs/heads/release\n');
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    expect(await run(['--claims', claims, '--config', config])).toBe(0);
    const token = out.trim();
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(decodeJwt(token)).toMatchObject({
      iss: DEV_ISSUER,
      aud: 'https://gatehouse.local',
      repository: 'acme/api',
      ref: 'refs/heads/release',
      sub: 'repo:acme/api:ref:refs/heads/release',
      runner_environment: 'github-hosted',
      jti: expect.any(String),
    });
  });

  it('refuses unless the dev issuer is configured', async () => {
    const config = writeConfig('prod.yaml', '[{ issuer: "https://token.actions.githubusercontent.com" }]');
    await expect(run(['--config', config])).rejects.toMatchObject({ code: 'dev-token.disabled' });
  });

  it('refuses claims files that set the registered timing or identity claims', async () => {
    const config = writeConfig('dev2.yaml', '[{ issuer: dev }]');
    const claims = path.join(dir, 'bad-claims.json');
    writeFileSync(claims, '{"aud": "elsewhere", "exp": 1}');
    await expect(run(['--claims', claims, '--config', config])).rejects.toMatchObject({
      code: 'dev-token.claims',
      message: expect.stringContaining('aud, exp'),
    });
  });
});
