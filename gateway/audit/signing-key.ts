import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from '../store/store.ts';

/** Name of the store secret holding the gateway's Ed25519 audit key (PKCS#8 PEM). */
export const AUDIT_SIGNING_KEY_SECRET = 'audit.signing-key' as const;

/**
 * The gateway's audit key. It lives in the store so every replica signs with the same key and
 * a restarted gateway can still seal the sessions a crash left open.
 */
export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SHA-256 of the DER SubjectPublicKeyInfo, hex: printed by `audit verify` so auditors can pin it. */
  keyId: string;
}

/** Loads the audit key, creating it on first use (first replica to write wins). */
export async function loadAuditSigningKey(store: Store): Promise<AuditSigningKey> {
  let pem = await store.getSecret(AUDIT_SIGNING_KEY_SECRET);
  if (!pem) {
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = await store.putSecretIfAbsent(
      AUDIT_SIGNING_KEY_SECRET,
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** The public half of the stored audit key, without creating one; null when the store has none. */
export async function storedAuditPublicKey(store: Store): Promise<KeyObject | null> {
  const pem = await store.getSecret(AUDIT_SIGNING_KEY_SECRET);
  return pem ? createPublicKey(createPrivateKey(pem)) : null;
}

/** Accepts a KeyObject or a PEM public (or private) key, as `--public-key FILE` gives. */
export function toPublicKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return key.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(key)) : createPublicKey(key);
  } catch (error) {
    throw new GatehouseError(
      'audit.bad-public-key',
      'the audit public key is not a PEM Ed25519 key; export it with `gatehouse audit key`',
      {
        cause: error,
      },
    );
  }
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The bytes a seal signs: domain-separated, bound to the session and the final position. */
export function sealMessage(sessionId: string, finalSeq: number, finalHash: string): Buffer {
  return Buffer.from(`gatehouse-audit-seal:v1:${sessionId}:${finalSeq}:${finalHash}`, 'utf8');
}

export function signSeal(key: AuditSigningKey, sessionId: string, finalSeq: number, finalHash: string): string {
  return sign(null, sealMessage(sessionId, finalSeq, finalHash), key.privateKey).toString('base64');
}

export function verifySeal(
  publicKey: KeyObject,
  sessionId: string,
  finalSeq: number,
  finalHash: string,
  signature: string,
): boolean {
  try {
    return verify(null, sealMessage(sessionId, finalSeq, finalHash), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
