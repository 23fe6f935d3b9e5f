import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateEd25519KeyPair } from '../../gateway/ssh/ssh-key-text.ts';

const SSHD = process.env.GATEHOUSE_TEST_SSHD ?? '/usr/sbin/sshd';

/** An SSH server a test can point a gatehouse.yaml `type: ssh` connection at. */
export interface SshTestTarget {
  host: string;
  port: number;
  user: string;
  /** Private key (OpenSSH format) the target accepts for `user`: what the gateway logs in with. */
  privateKey: string;
  /** The target's host public key line, for `host_key`. */
  hostKey: string;
  /** Whether this is real OpenSSH (false: the ssh2 stand-in used on laptops without sshd). */
  real: boolean;
  stop(): Promise<void>;
}

/**
 * Starts a real OpenSSH server on a free port with a temporary config, host key and an
 * authorized key for the current user. Without sshd it falls back to an ssh2 server running
 * commands with /bin/sh, except under CI=true where a missing sshd is an error.
 */
export async function startSshTarget(): Promise<SshTestTarget> {
  if (existsSync(SSHD)) return startOpenSsh();
  if (process.env.CI === 'true') {
    throw new Error(
      `CI=true but ${SSHD} is missing; install it with 'apt-get install -y openssh-server' (.ci/run does this as root)`,
    );
  }
  return startStandIn();
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startOpenSsh(): Promise<SshTestTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sshd-'));
  const hostKey = generateEd25519KeyPair();
  const clientKey = generateEd25519KeyPair();
  writeFileSync(join(dir, 'host_key'), hostKey.private, { mode: 0o600 });
  writeFileSync(join(dir, 'authorized_keys'), `${clientKey.public}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      'PidFile none',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'AcceptEnv GATEHOUSE_*',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'PrintMotd no',
      'PrintLastLog no',
      'Banner none',
      'LogLevel ERROR',
      'MaxStartups 100',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  try {
    await waitForBanner(port, child, () => stderr);
  } catch (error) {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    privateKey: clientKey.private,
    hostKey: hostKey.public,
    real: true,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForBanner(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr()}`);
    if (await answersSsh(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd did not answer on port ${port}: ${stderr()}`);
}

function answersSsh(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (data: Buffer) => done(data.toString('latin1').startsWith('SSH-2.0')));
    socket.once('error', () => done(false));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function startStandIn(): Promise<SshTestTarget> {
  const hostKey = generateEd25519KeyPair();
  const clientKey = generateEd25519KeyPair();
  const allowed = ssh2.utils.parseKey(clientKey.public);
  if (allowed instanceof Error) throw allowed;
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (auth) => {
      if (auth.method !== 'publickey' || !auth.key.data.equals(allowed.getPublicSSH()))
        return auth.reject(['publickey']);
      if (!auth.signature || !auth.blob) return auth.accept();
      return allowed.verify(auth.blob, auth.signature, auth.hashAlgo as never)
        ? auth.accept()
        : auth.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('tcpip', (accept, reject, info) => {
        const socket = net.connect(info.destPort, info.destIP);
        socket.once('error', () => reject());
        socket.once('connect', () => {
          const channel = accept();
          channel.pipe(socket).pipe(channel);
        });
      });
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        const env: Record<string, string> = {};
        session.on('pty', (accept) => accept?.());
        session.on('env', (accept, _reject, info) => {
          env[info.key] = info.val;
          accept?.();
        });
        const run = (args: string[], channel: import('ssh2').ServerChannel) => {
          const child = spawn('/bin/sh', args, { stdio: 'pipe', env: { ...process.env, ...env } });
          channel.pipe(child.stdin);
          child.stdout.pipe(channel, { end: false });
          child.stderr.pipe(channel.stderr, { end: false });
          child.once('close', (code) => {
            channel.exit(code ?? 255);
            channel.end();
          });
        };
        session.on('exec', (accept, _reject, info) => run(['-c', info.command], accept()));
        session.on('shell', (accept) => run(['-i'], accept()));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    privateKey: clientKey.private,
    hostKey: hostKey.public,
    real: false,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
