import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../../gateway/ssh/ssh-key-text.ts';
import { createSshClientKey } from '../../../gateway/client/ssh-client-key.ts';
import { startSshTarget, type SshTestTarget } from '../../support/sshd.ts';
import { CONNECTION, sshConnection, startGateway, TOKEN, type Harness } from './gateway-harness.ts';
import { runSsh, type SshRun } from './ssh-client.ts';

let target: SshTestTarget;
let gw: Harness;
let dir: string;

beforeAll(async () => {
  target = await startSshTarget();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-auth-'));
  gw = await startGateway([sshConnection(target)]);
});

afterAll(async () => {
  await gw?.close();
  await target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ssh(run: Partial<SshRun> & { command?: string }) {
  return runSsh({ port: gw.port, user: CONNECTION, knownHosts: gw.knownHosts, password: TOKEN, ...run });
}

describe('bad input', () => {
  it('refuses a wrong session token and a connection the gateway does not know', async () => {
    const wrong = await ssh({ password: 'gwh_wrong', command: 'echo never' });
    expect(wrong.code).toBe(255);
    expect(wrong.stderr).toContain('Permission denied');
    const unknown = await ssh({ user: 'no-such-host', command: 'echo never' });
    expect(unknown.code).toBe(255);
  });

  it('keeps other sessions working while a client sends garbage', async () => {
    const running = ssh({ command: "sh -c 'sleep 0.5; echo still-here'" });
    const garbage = net.connect({ host: '127.0.0.1', port: gw.port });
    garbage.on('error', () => undefined);
    garbage.resume();
    await new Promise<void>((resolve) => garbage.once('connect', () => resolve()));
    garbage.write('SSH-2.0-evil\r\n');
    garbage.write(Buffer.from([0, 0, 0, 12, 4, 99, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xff, 0xff, 0xff, 0xff]));
    garbage.write(Buffer.alloc(4096, 0xa5));
    const closed = new Promise<void>((resolve) => garbage.once('close', () => resolve()));
    await closed;
    expect(await running).toMatchObject({ code: 0, stdout: 'still-here\n' });
    expect(await ssh({ command: 'echo after' })).toMatchObject({ code: 0, stdout: 'after\n' });
  });
});

describe('tunnel streams', () => {
  async function tunnelPort(connection: string = CONNECTION): Promise<{ port: number; close(): Promise<void> }> {
    const server = net.createServer((socket) =>
      gw.gateway.accept(socket, { session: gw.session, connection, loopback: true }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as net.AddressInfo;
    return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  function keyFile(name: string): { path: string; publicKey: string } {
    const pair = generateEd25519KeyPair();
    const path = join(dir, name);
    writeFileSync(path, pair.private, { mode: 0o600 });
    return { path, publicKey: pair.public };
  }

  it('lets the key registered with the tunnel session in, in batch mode', async () => {
    const key = keyFile('registered-key');
    gw.sshKeys.push(key.publicKey);
    const tunnel = await tunnelPort();
    try {
      const result = await runSsh({
        port: tunnel.port,
        user: CONNECTION,
        knownHosts: `[127.0.0.1]:${tunnel.port} ${gw.gateway.hostKey.publicKey}`,
        identityFile: key.path,
        options: ['-o', 'BatchMode=yes'],
        command: 'echo via-tunnel',
      });
      expect(result).toMatchObject({ code: 0, stdout: 'via-tunnel\n' });
    } finally {
      await tunnel.close();
    }
  });

  it('accepts the ECDSA key `gatehouse connect` generates and registers', async () => {
    const key = createSshClientKey(dir);
    gw.sshKeys.push(key.publicKeyLine);
    const tunnel = await tunnelPort();
    try {
      const result = await runSsh({
        port: tunnel.port,
        user: CONNECTION,
        knownHosts: `[127.0.0.1]:${tunnel.port} ${gw.gateway.hostKey.publicKey}`,
        identityFile: key.privateKeyFile,
        options: ['-o', 'BatchMode=yes'],
        command: 'echo ecdsa',
      });
      expect(result).toMatchObject({ code: 0, stdout: 'ecdsa\n' });
    } finally {
      await tunnel.close();
    }
  });

  it('refuses a key that is not registered, and a session token as password', async () => {
    const key = keyFile('stranger-key');
    const tunnel = await tunnelPort();
    try {
      const knownHosts = `[127.0.0.1]:${tunnel.port} ${gw.gateway.hostKey.publicKey}`;
      const stranger = await runSsh({
        port: tunnel.port,
        user: CONNECTION,
        knownHosts,
        identityFile: key.path,
        options: ['-o', 'BatchMode=yes'],
        command: 'echo never',
      });
      expect(stranger.code).toBe(255);
      expect(stranger.stderr).toContain('Permission denied (publickey)');
      const password = await runSsh({
        port: tunnel.port,
        user: CONNECTION,
        knownHosts,
        password: TOKEN,
        command: 'echo never',
      });
      expect(password.code).toBe(255);
    } finally {
      await tunnel.close();
    }
  });

  it('refuses an SSH user naming another connection than the tunnel was opened for', async () => {
    const key = keyFile('other-tunnel-key');
    gw.sshKeys.push(key.publicKey);
    const tunnel = await tunnelPort('some-other-connection');
    try {
      const result = await runSsh({
        port: tunnel.port,
        user: CONNECTION,
        knownHosts: `[127.0.0.1]:${tunnel.port} ${gw.gateway.hostKey.publicKey}`,
        identityFile: key.path,
        options: ['-o', 'BatchMode=yes'],
        command: 'echo never',
      });
      expect(result.code).toBe(255);
      expect(result.stdout).toBe('');
    } finally {
      await tunnel.close();
    }
  });
});
