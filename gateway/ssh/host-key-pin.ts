import { GatehouseError } from '../errors/gatehouse-error.ts';
import { parsePublicKeyLine, sshFingerprint } from './ssh-key-text.ts';

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** Host key algorithms ssh2 negotiates for each key type, so the target shows the pinned key. */
const ALGORITHMS_BY_KEY_TYPE: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * A target's pinned host key from `connections.<name>.host_key`: either the full public key line
 * or its SHA256 fingerprint. The gateway never trusts a target on first use.
 */
export interface HostKeyPin {
  fingerprint: string;
  /** Host key algorithms to offer (only known when the full key is pinned). */
  algorithms?: string[];
  matches(blob: Buffer): boolean;
}

/** Parses a `host_key` setting; `connection` names the entry in the error message. */
export function parseHostKeyPin(text: string, connection: string): HostKeyPin {
  const trimmed = text.trim();
  if (FINGERPRINT.test(trimmed)) {
    const fingerprint = trimmed.replace(/=$/, '');
    return { fingerprint, matches: (blob) => sshFingerprint(blob) === fingerprint };
  }
  const key = parsePublicKeyLine(trimmed.split(/\s+/).slice(0, 2).join(' '));
  if (!key) {
    throw new GatehouseError(
      'ssh.host-key-pin-invalid',
      `connections.${connection}.host_key is neither an OpenSSH public key line nor a SHA256 fingerprint; copy it from 'ssh-keyscan -t ed25519 <host>' or 'ssh-keygen -lf <host key>.pub'`,
    );
  }
  return {
    fingerprint: sshFingerprint(key.blob),
    algorithms: ALGORITHMS_BY_KEY_TYPE[key.type] ?? [key.type],
    matches: (blob) => blob.equals(key.blob),
  };
}
