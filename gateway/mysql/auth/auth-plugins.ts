import { constants, createHash, publicEncrypt, timingSafeEqual } from 'node:crypto';
import { Point } from '@noble/ed25519';

/** The authentication plugins the gateway speaks, by their wire names. */
export const AUTH_PLUGIN = {
  native: 'mysql_native_password',
  cachingSha2: 'caching_sha2_password',
  sha256: 'sha256_password',
  clear: 'mysql_clear_password',
  ed25519: 'client_ed25519',
} as const;

const sha1 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();
const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const sha512 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha512')).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty for an empty password. */
export function nativePasswordToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  return xor(stage1, sha1(scramble.subarray(0, 20), sha1(stage1)));
}

/** caching_sha2_password's fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble). */
export function cachingSha2Token(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xor(stage1, sha256(sha256(stage1), scramble.subarray(0, 20)));
}

/** The password for the full-auth path over RSA: (pw + NUL) XOR scramble, encrypted with the server's key (OAEP). */
export function rsaEncryptedPassword(password: string, scramble: Buffer, publicKeyPem: string): Buffer {
  const plain = xor(Buffer.from(`${password}\0`, 'utf8'), scramble.subarray(0, 20));
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
}

/** mysql_clear_password and the full-auth path over TLS: the password and a NUL. */
export function clearPassword(password: string): Buffer {
  return Buffer.from(`${password}\0`, 'utf8');
}

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function scalar(bytes: Buffer): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`) % L;
}

function scalarBytes(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse();
}

/**
 * MariaDB's client_ed25519: an Ed25519 signature of the scramble whose secret key is derived
 * from the password itself (SHA-512 of the password, of any length, instead of a 32-byte seed).
 */
export function ed25519Signature(password: string, message: Buffer): Buffer {
  const h = sha512(Buffer.from(password, 'utf8'));
  const a = Buffer.from(h.subarray(0, 32));
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64;
  const secret = scalar(a);
  const publicKey = Buffer.from(Point.BASE.multiply(secret).toBytes());
  const r = scalar(sha512(h.subarray(32), message));
  const R = Buffer.from(Point.BASE.multiply(r).toBytes());
  const k = scalar(sha512(R, publicKey, message));
  return Buffer.concat([R, scalarBytes((r + k * secret) % L)]);
}

/** The public key MariaDB stores for an ed25519 user (`PASSWORD()` of the ed25519 plugin, base64 without padding). */
export function ed25519PublicKey(password: string): Buffer {
  const a = Buffer.from(sha512(Buffer.from(password, 'utf8')).subarray(0, 32));
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64;
  return Buffer.from(Point.BASE.multiply(scalar(a)).toBytes());
}

/** Checks a mysql_native_password token against a known password, in constant time. */
export function nativeTokenMatches(token: Buffer, password: string, scramble: Buffer): boolean {
  const expected = nativePasswordToken(password, scramble);
  return token.length === expected.length && timingSafeEqual(token, expected);
}

/** Checks a caching_sha2_password fast-path token against a known password, in constant time. */
export function cachingSha2TokenMatches(token: Buffer, password: string, scramble: Buffer): boolean {
  const expected = cachingSha2Token(password, scramble);
  return token.length === expected.length && timingSafeEqual(token, expected);
}
