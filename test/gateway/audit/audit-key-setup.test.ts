import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configuredPublicKey, setUpAuditSigningKey, storedPublicKeys } from '../../../gateway/audit/audit-key-setup.ts';
import { keyIdOf, LEGACY_SIGNING_KEY_SECRET } from '../../../gateway/audit/signing-key.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

describe.each(ENGINES)('the audit signing key on $name', (engine) => {
  let ctx: EngineStore;
  let dir: string;
  beforeAll(async () => {
    ctx = await engine.open();
    dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-key-'));
  });
  afterAll(async () => {
    await ctx?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a key file readable only by the gateway, reuses it, and gives the store only the public key', async () => {
    const file = path.join(dir, 'data', 'audit-signing-key.pem');
    const first = await setUpAuditSigningKey({
      source: { signingKeyFile: file },
      store: ctx.store,
      gatewayId: 'gw',
      log: () => {},
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await setUpAuditSigningKey({
      source: { signingKeyFile: file },
      store: ctx.store,
      gatewayId: 'gw',
      log: () => {},
    });
    expect(again.keyId).toBe(first.keyId);
    const listed = await ctx.store.listAuditKeys();
    expect(listed.find((k) => k.keyId === first.keyId)).toMatchObject({
      status: 'active',
      publicKey: expect.stringContaining('PUBLIC KEY'),
    });
    expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');
    expect(await ctx.store.getSecret(LEGACY_SIGNING_KEY_SECRET)).toBeNull();
    expect(keyIdOf(configuredPublicKey({ signingKeyFile: file })!)).toBe(first.keyId);
  });

  it('takes the key from an environment secret (PEM) before any file', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const key = await setUpAuditSigningKey({
      source: { signingKey: pem, signingKeyFile: path.join(dir, 'unused.pem') },
      store: ctx.store,
      gatewayId: 'gw',
      log: () => {},
    });
    expect(key.keyId).toBe(keyIdOf(createPublicKey(privateKey)));
    expect(() => readFileSync(path.join(dir, 'unused.pem'))).toThrow();
  });

  it('retires a private key an older gateway kept in the store, and says so', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    await ctx.store.putSecretIfAbsent(
      LEGACY_SIGNING_KEY_SECRET,
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const log: string[] = [];
    const key = await setUpAuditSigningKey({
      source: { signingKeyFile: path.join(dir, 'new.pem') },
      store: ctx.store,
      gatewayId: 'gw',
      log: (m) => log.push(m),
    });
    expect(await ctx.store.getSecret(LEGACY_SIGNING_KEY_SECRET)).toBeNull();
    expect(log).toEqual([
      expect.stringMatching(/the signing key was kept in the store.*it is retired.*new seals use key/),
    ]);
    const keys = await storedPublicKeys(ctx.store);
    expect(keys.find((k) => keyIdOf(k.key) === keyIdOf(createPublicKey(privateKey)))).toMatchObject({ retired: true });
    expect(key.keyId).not.toBe(keyIdOf(createPublicKey(privateKey)));
  });

  it('refuses a signing key that is not Ed25519, naming where it came from', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(
      setUpAuditSigningKey({
        source: { signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        store: ctx.store,
        gatewayId: 'gw',
        log: () => {},
      }),
    ).rejects.toMatchObject({
      code: 'audit.bad-signing-key',
      message: expect.stringContaining('audit.signing_key is a rsa key'),
    });
  });
});
