import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  knownHostsLine,
  loadSshHostKey,
  SSH_HOST_KEY_SECRET,
  sshHostKeyFromPrivate,
} from '../../../gateway/ssh/host-key.ts';
import { parseHostKeyPin } from '../../../gateway/ssh/host-key-pin.ts';
import { generateEd25519KeyPair, parsePublicKeyLine } from '../../../gateway/ssh/ssh-key-text.ts';

function memoryStore() {
  const secrets = new Map<string, string>();
  return {
    secrets,
    getSecret: async (name: string) => secrets.get(name) ?? null,
    putSecretIfAbsent: async (name: string, value: string) => {
      if (!secrets.has(name)) secrets.set(name, value);
      return secrets.get(name)!;
    },
  };
}

function sshKeygenFingerprint(publicKey: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fp-'));
  try {
    writeFileSync(join(dir, 'key.pub'), `${publicKey}\n`);
    return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.pub')], { encoding: 'utf8' }).split(
      ' ',
    )[1]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('gateway SSH host key', () => {
  it('is generated once and then loaded unchanged from the store', async () => {
    const store = memoryStore();
    const first = await loadSshHostKey(store);
    const second = await loadSshHostKey(store);
    expect(second).toEqual(first);
    expect(store.secrets.get(SSH_HOST_KEY_SECRET)).toBe(first.privateKey);
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
  });

  it('keeps the key another replica stored first', async () => {
    const store = memoryStore();
    const other = generateEd25519KeyPair();
    const racing = {
      ...store,
      getSecret: async () => null,
      putSecretIfAbsent: async (name: string) => store.putSecretIfAbsent(name, other.private),
    };
    const loaded = await loadSshHostKey(racing);
    expect(loaded.privateKey).toBe(other.private);
  });

  it('has the fingerprint ssh-keygen shows', () => {
    const key = sshHostKeyFromPrivate(generateEd25519KeyPair().private);
    expect(key.fingerprint).toBe(sshKeygenFingerprint(key.publicKey));
  });

  it('writes known_hosts lines the way OpenSSH names ports', () => {
    const key = sshHostKeyFromPrivate(generateEd25519KeyPair().private);
    expect(knownHostsLine(key, 'gw.example', 2222, ['deploy-host'])).toBe(
      `[gw.example]:2222,deploy-host ${key.publicKey}`,
    );
    expect(knownHostsLine(key, 'gw.example', 22)).toBe(`gw.example ${key.publicKey}`);
  });

  it('only generates keys that parse back, even when ssh2 would drop a leading zero byte', () => {
    for (let i = 0; i < 600; i++) {
      const pair = generateEd25519KeyPair();
      expect(sshHostKeyFromPrivate(pair.private).publicKey).toBe(pair.public);
    }
  });

  it('refuses a stored secret that is not a private key, saying how to recover', () => {
    expect(() => sshHostKeyFromPrivate('not a key')).toThrow(/delete that secret/);
  });
});

describe('target host key pins', () => {
  const target = generateEd25519KeyPair();
  const blob = parsePublicKeyLine(target.public)!.blob;
  const other = parsePublicKeyLine(generateEd25519KeyPair().public)!.blob;

  it('matches the pinned public key line (with a comment) and nothing else', () => {
    const pin = parseHostKeyPin(`${target.public} root@target`, 'deploy-host');
    expect(pin.matches(blob)).toBe(true);
    expect(pin.matches(other)).toBe(false);
    expect(pin.algorithms).toEqual(['ssh-ed25519']);
  });

  it('matches a pinned SHA256 fingerprint as ssh-keygen prints it', () => {
    const pin = parseHostKeyPin(sshKeygenFingerprint(target.public), 'deploy-host');
    expect(pin.matches(blob)).toBe(true);
    expect(pin.matches(other)).toBe(false);
  });

  it('refuses a pin that is neither, naming the setting', () => {
    expect(() => parseHostKeyPin('MD5:aa:bb', 'deploy-host')).toThrow(/connections\.deploy-host\.host_key/);
  });
});
