import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

const { utils } = ssh2;

/**
 * The OpenSSH way of naming a public key: `SHA256:` and the unpadded base64 SHA-256 of the key
 * blob, exactly what `ssh-keygen -lf` and ssh's "host key verification" messages print.
 */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A parsed OpenSSH public key line (`ssh-ed25519 AAAA... comment`). */
export interface PublicKeyText {
  type: string;
  blob: Buffer;
  /** `type base64`, without the comment: the canonical form to compare and store. */
  line: string;
}

/** Parses an OpenSSH public key line; null when it is not one (never throws). */
export function parsePublicKeyLine(text: string): PublicKeyText | null {
  const parsed = utils.parseKey(text.trim());
  if (parsed instanceof Error) return null;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) return null;
  const blob = key.getPublicSSH();
  if (!Buffer.isBuffer(blob) || blob.length === 0) return null;
  return { type: key.type, blob, line: `${key.type} ${blob.toString('base64')}` };
}

/** An OpenSSH key pair as text: the private key file and the public key line. */
export interface SshKeyPair {
  private: string;
  public: string;
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2's generator drops a leading zero byte of the
 * public key (about one key in 256 comes out malformed), so each pair is checked by parsing it
 * back and regenerated when it does not parse.
 */
export function generateEd25519KeyPair(): SshKeyPair {
  for (let attempt = 0; attempt < 16; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    const parsed = utils.parseKey(pair.private);
    if (!(parsed instanceof Error) && parsePublicKeyLine(pair.public)?.blob.length === 51) return pair;
  }
  throw new Error('could not generate a well-formed ed25519 key');
}
