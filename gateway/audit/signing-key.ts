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

/**
 * Name of the store secret where gateways before 0.2 kept the audit private key. A key the store's
 * owner could read proves nothing against them, so `audit-key-setup.ts` retires it on start.
 */
export const LEGACY_SIGNING_KEY_SECRET = 'audit.signing-key' as const;

/**
 * The gateway's Ed25519 audit key. The private half lives outside the store (a key file in the
 * gateway's data directory, or an environment secret), so whoever can write the store cannot
 * re-sign a rewritten log; the store holds only public keys.
 */
export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SHA-256 of the DER SubjectPublicKeyInfo, hex: printed by `audit verify` so auditors can pin it. */
  keyId: string;
}

/** A fresh key (the memory store's, which lives as long as the process). */
export function generateAuditSigningKey(): AuditSigningKey {
  return signingKeyOf(generateKeyPairSync('ed25519').privateKey);
}

/** The key in a PKCS#8 PEM text (a key file or `audit.signing_key`). */
export function signingKeyFromPem(pem: string, where: string): AuditSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new GatehouseError(
      'audit.bad-signing-key',
      `${where} is not a PEM private key; generate one with \`openssl genpkey -algorithm ed25519\``,
      { cause: error },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new GatehouseError(
      'audit.bad-signing-key',
      `${where} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; the audit key must be Ed25519 (\`openssl genpkey -algorithm ed25519\`)`,
    );
  return signingKeyOf(privateKey);
}

/** PEM of a private key, for writing a key file. */
export function privateKeyPem(key: AuditSigningKey): string {
  return key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** SPKI PEM of a public key, as `gatehouse audit key` prints it. */
export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function signingKeyOf(privateKey: KeyObject): AuditSigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
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
