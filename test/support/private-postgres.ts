import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './sshd.ts';

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((dir) =>
  existsSync(path.join(dir, 'initdb')),
);

/** Whether this machine can start a private PostgreSQL cluster (the server binaries are installed). */
export const canStartPrivateCluster = BIN !== undefined;

export interface PrivateCluster {
  port: number;
  /** A role that must authenticate with SCRAM-SHA-256. */
  user: string;
  password: string;
  /** PEM of the self-signed certificate the cluster serves (and its own CA). */
  certificate: string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL cluster in a temp dir with SCRAM-only password auth and TLS,
 * because the shared server trusts loopback and its settings must not be changed. Runs as the
 * `postgres` OS user when the tests run as root (the server refuses root).
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  if (!BIN) throw new Error('PostgreSQL server binaries (initdb) are not installed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : undefined;
  if (owner !== undefined) {
    chownSync(dir, owner, owner);
    chmodSync(dir, 0o700);
  }
  const runAs = (cmd: string, args: string[]) =>
    asRoot ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const) : ([cmd, args] as const);
  const password = 'scram-secret-1';
  writeFileSync(path.join(dir, 'pw'), password);
  if (owner !== undefined) chownSync(path.join(dir, 'pw'), owner, owner);
  const [initCmd, initArgs] = runAs(path.join(BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'owner',
    '--auth=scram-sha-256',
    `--pwfile=${path.join(dir, 'pw')}`,
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      path.join(data, 'server.key'),
      '-out',
      path.join(data, 'server.crt'),
    ],
    { stdio: 'ignore' },
  );
  if (owner !== undefined) {
    chownSync(path.join(data, 'server.key'), owner, owner);
    chownSync(path.join(data, 'server.crt'), owner, owner);
  }
  chmodSync(path.join(data, 'server.key'), 0o600);
  writeFileSync(
    path.join(data, 'pg_hba.conf'),
    'host all all 127.0.0.1/32 scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
  );
  const port = await freePort();
  const [cmd, args] = runAs(path.join(BIN, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'ssl=on',
    '-c',
    'fsync=off',
  ]);
  const server: ChildProcess = spawn(cmd, args, { stdio: 'ignore' });
  await waitForPort(port, 20_000);
  const certificate = readFileSync(path.join(data, 'server.crt'), 'utf8');
  return {
    port,
    user: 'owner',
    password,
    certificate,
    stop: async () => {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      // runuser does not pass signals on, so the postmaster is signalled by its own pid (fast shutdown).
      const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) {
      await new Promise((r) => setTimeout(r, 300));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`private PostgreSQL did not open port ${port}`);
}
