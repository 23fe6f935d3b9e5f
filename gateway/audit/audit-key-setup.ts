import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from '../store/store.ts';
import {
  generateAuditSigningKey,
  keyIdOf,
  LEGACY_SIGNING_KEY_SECRET,
  privateKeyPem,
  publicKeyPem,
  signingKeyFromPem,
  toPublicKey,
  type AuditSigningKey,
} from './signing-key.ts';

/** Where the private audit key comes from (`audit.signing_key` / `audit.signing_key_file`). */
export interface AuditKeySource {
  /** PEM text, usually `${env:GATEHOUSE_AUDIT_SIGNING_KEY}` (an environment secret). */
  signingKey?: string;
  /** A key file, created (mode 0600) on first start; null: an ephemeral key (memory store). */
  signingKeyFile?: string | null;
}

/**
 * The gateway's signing key, set up on start: read from the configured secret or key file (created
 * on first start), published to the store as a public key only, and the private key that gateways
 * before 0.2 kept in the store retired (its public key stays listed as `retired` so old seals can
 * still be checked, and it is never used to sign again).
 */
export async function setUpAuditSigningKey(options: {
  source: AuditKeySource;
  store: Store;
  gatewayId: string;
  log: (message: string) => void;
}): Promise<AuditSigningKey> {
  const key = loadSigningKey(options.source);
  await retireStoredKey(options.store, options.gatewayId, key, options.log);
  await options.store.putAuditKey({
    keyId: key.keyId,
    publicKey: publicKeyPem(key.publicKey),
    gateway: options.gatewayId,
    status: 'active',
    createdAt: new Date(),
  });
  return key;
}

/** The key itself, without the store: for `gatehouse audit verify`, which pins its public half. */
export function loadSigningKey(source: AuditKeySource): AuditSigningKey {
  if (source.signingKey) return signingKeyFromPem(source.signingKey, 'audit.signing_key');
  if (!source.signingKeyFile) return generateAuditSigningKey();
  return readOrCreateKeyFile(source.signingKeyFile);
}

/** The public key of the configured key without creating a key file; null when there is none yet. */
export function configuredPublicKey(source: AuditKeySource): KeyObject | null {
  if (source.signingKey) return signingKeyFromPem(source.signingKey, 'audit.signing_key').publicKey;
  if (!source.signingKeyFile) return null;
  try {
    return signingKeyFromPem(readFileSync(source.signingKeyFile, 'utf8'), source.signingKeyFile).publicKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function readOrCreateKeyFile(file: string): AuditSigningKey {
  try {
    return signingKeyFromPem(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = generateAuditSigningKey();
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, privateKeyPem(key), { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return signingKeyFromPem(readFileSync(file, 'utf8'), file);
    throw new GatehouseError(
      'audit.key-unwritable',
      `cannot create the audit signing key file ${file} (${(error as Error).message}); make its directory writable or set audit.signing_key`,
      { cause: error },
    );
  }
}

async function retireStoredKey(
  store: Store,
  gatewayId: string,
  key: AuditSigningKey,
  log: (message: string) => void,
): Promise<void> {
  const pem = await store.getSecret(LEGACY_SIGNING_KEY_SECRET);
  if (!pem) return;
  const publicKey = createPublicKey(createPrivateKey(pem));
  const keyId = keyIdOf(publicKey);
  await store.putAuditKey({
    keyId,
    publicKey: publicKeyPem(publicKey),
    gateway: gatewayId,
    status: 'retired',
    createdAt: new Date(),
  });
  await store.deleteSecret(LEGACY_SIGNING_KEY_SECRET);
  log(
    `audit: the signing key was kept in the store, where whoever can write the store could re-sign a rewritten log; it is retired (key ${keyId.slice(0, 16)}…, removed from the store, listed as retired by \`gatehouse audit key\`)${keyId === key.keyId ? '. The configured key IS that key: replace it with a new one' : `; new seals use key ${key.keyId.slice(0, 16)}…`}`,
  );
}

/** The public keys the store lists, with the retired ones marked: the fallback `audit verify` warns about. */
export async function storedPublicKeys(store: Store): Promise<Array<{ key: KeyObject; retired: boolean }>> {
  const keys = (await store.listAuditKeys()).map((k) => ({
    key: toPublicKey(k.publicKey),
    retired: k.status === 'retired',
  }));
  const legacy = await store.getSecret(LEGACY_SIGNING_KEY_SECRET);
  if (legacy) keys.push({ key: createPublicKey(createPrivateKey(legacy)), retired: true });
  return keys;
}
