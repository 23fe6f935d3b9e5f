import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './sshd.ts';
import { waitForMariaDb } from './mariadb-target.ts';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Whether this machine can start a private MariaDB server (the server binaries are installed). */
export const canStartPrivateMariaDb = existsSync(MARIADBD) && existsSync(INSTALL_DB);

export interface PrivateMariaDb {
  port: number;
  /** PEM of the self-signed certificate the server presents (and its own CA). */
  certificate: string;
  /** Runs SQL as the server's root (over its socket) and returns the tab-separated output. */
  sql(statement: string): string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway MariaDB in a temp dir with TLS and the ed25519 plugin loaded, because the
 * shared server runs without TLS and its settings and plugins must not be changed. Runs as the
 * `mysql` OS user when the tests run as root.
 */
export async function startPrivateMariaDb(extraArgs: string[] = []): Promise<PrivateMariaDb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-mariadb-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'mysql']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'mysql']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const user = asRoot ? ['--user=mysql'] : [];
  execFileSync(
    INSTALL_DB,
    [...user, `--datadir=${data}`, '--skip-test-db', '--auth-root-authentication-method=socket'],
    {
      stdio: 'ignore',
    },
  );
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
      path.join(dir, 'server.key'),
      '-out',
      path.join(dir, 'server.crt'),
    ],
    { stdio: 'ignore' },
  );
  if (asRoot) execFileSync('chown', ['mysql:mysql', path.join(dir, 'server.key'), path.join(dir, 'server.crt')]);
  const port = await freePort();
  const server: ChildProcess = spawn(
    MARIADBD,
    [
      '--no-defaults',
      ...user,
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      '--plugin-load-add=auth_ed25519',
      `--ssl-cert=${path.join(dir, 'server.crt')}`,
      `--ssl-key=${path.join(dir, 'server.key')}`,
      '--innodb-buffer-pool-size=16M',
      '--skip-log-bin',
      '--skip-name-resolve',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  await waitForMariaDb(port, 30_000).catch((error: Error) => {
    server.kill('SIGKILL');
    throw new Error(`${error.message}; its log ends with:\n${log}`);
  });
  const sql = (statement: string) =>
    execFileSync('mariadb', [`--socket=${socket}`, '-uroot', '-N', '-B', '-e', statement]).toString();
  return {
    port,
    certificate: readFileSync(path.join(dir, 'server.crt'), 'utf8'),
    sql,
    stop: async () => {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
