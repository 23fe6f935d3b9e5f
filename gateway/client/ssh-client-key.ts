import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** The ephemeral key `gatehouse connect` registers with its session for SSH tunnels. */
export interface SshClientKey {
  /** PEM (SEC1) private key file, mode 0600, which OpenSSH reads as an IdentityFile. */
  privateKeyFile: string;
  /** OpenSSH public key line (`ecdsa-sha2-nistp256 AAAA... gatehouse-connect`). */
  publicKeyLine: string;
}

/**
 * Generates a P-256 key pair with Node's crypto (no native SSH dependency in the client bundle)
 * and writes the private half into `dir`, which the caller keeps private and removes at exit.
 */
export function createSshClientKey(dir: string): SshClientKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKeyFile = path.join(dir, 'id_ecdsa');
  writeFileSync(privateKeyFile, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const blob = Buffer.concat([
    sshString(Buffer.from('ecdsa-sha2-nistp256')),
    sshString(Buffer.from('nistp256')),
    sshString(point),
  ]);
  return { privateKeyFile, publicKeyLine: `ecdsa-sha2-nistp256 ${blob.toString('base64')} gatehouse-connect` };
}

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
