import ssh2 from 'ssh2';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from '../store/store.ts';
import { generateEd25519KeyPair, parsePublicKeyLine, sshFingerprint } from './ssh-key-text.ts';

/** Name of the store secret holding the host key (OpenSSH private key text). */
export const SSH_HOST_KEY_SECRET = 'ssh-host-key' as const;

/**
 * The gateway's own SSH host key. It is generated once and kept in the store so it survives
 * restarts and is shared by replicas: clients pin it (known_hosts, `StrictHostKeyChecking yes`)
 * instead of trusting on first use, and a key that changed would break every pinned client.
 */
export interface SshHostKey {
  /** OpenSSH private key text, for ssh2's `hostKeys`. */
  privateKey: string;
  /** `ssh-ed25519 AAAA...`, without comment. */
  publicKey: string;
  /** `SHA256:...`, what the session answer and `ssh-keygen -lf` show. */
  fingerprint: string;
}

/** Loads the gateway host key from the store, generating it on first use (first replica wins). */
export async function loadSshHostKey(store: Pick<Store, 'getSecret' | 'putSecretIfAbsent'>): Promise<SshHostKey> {
  let stored = await store.getSecret(SSH_HOST_KEY_SECRET);
  if (stored === null) {
    const generated = generateEd25519KeyPair();
    stored = await store.putSecretIfAbsent(SSH_HOST_KEY_SECRET, generated.private);
  }
  return sshHostKeyFromPrivate(stored);
}

/** Derives the public half and fingerprint of a stored host key. */
export function sshHostKeyFromPrivate(privateKey: string): SshHostKey {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (parsed instanceof Error || !key || !key.isPrivateKey()) {
    throw new GatehouseError(
      'ssh.host-key-invalid',
      `the stored SSH host key '${SSH_HOST_KEY_SECRET}' cannot be parsed; delete that secret from the store to generate a new one (clients must then update their known_hosts)`,
    );
  }
  const publicKey = parsePublicKeyLine(`${key.type} ${key.getPublicSSH().toString('base64')}`);
  if (!publicKey) {
    throw new GatehouseError(
      'ssh.host-key-invalid',
      `the stored SSH host key '${SSH_HOST_KEY_SECRET}' has no usable public half; delete it to regenerate`,
    );
  }
  return { privateKey, publicKey: publicKey.line, fingerprint: sshFingerprint(publicKey.blob) };
}

/**
 * The known_hosts line for reaching the gateway at `host:port` (OpenSSH writes non-22 ports as
 * `[host]:port`), for the `connect` command and the Action to write before running ssh.
 */
export function knownHostsLine(
  hostKey: SshHostKey,
  host: string,
  port: number,
  aliases: readonly string[] = [],
): string {
  const main = port === 22 ? host : `[${host}]:${port}`;
  return `${[main, ...aliases].join(',')} ${hostKey.publicKey}`;
}
