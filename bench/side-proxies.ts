import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A proxy started beside the gateway so a bench row compares the gateway with it in the same run. */
export interface SideProxy {
  /** The bench target's URL with host and port swapped for the proxy's. */
  url: string;
  /** CPU microseconds a proxy in its own process has used (from /proc), when it can be read. */
  cpuMicros?: () => number;
  close(): Promise<void>;
}

/** utime + stime of a process, from /proc/<pid>/stat (clock ticks of 10 ms on Linux). */
function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const TARGET = { host: '127.0.0.1', port: 5432 } as const;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function viaPort(targetUrl: string, port: number): string {
  const url = new URL(targetUrl);
  url.host = `127.0.0.1:${port}`;
  return url.toString();
}

/** Where pgbouncer is installed, or undefined (the bench then skips its rows and says why). */
export function pgbouncerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  const where = found.stdout.trim();
  return found.status === 0 && where !== '' ? where : undefined;
}

/** The message a row shows when pgbouncer is missing. */
export const PGBOUNCER_MISSING = 'skipped: pgbouncer is not installed (apt-get install -y pgbouncer)';

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`pgbouncer did not listen on ${port}: ${log()}`);
}

/**
 * pgbouncer in session mode (Debian's package) with its own temporary config, port and auth file,
 * in front of the local PostgreSQL (trust). As root it drops to the `postgres` user, which
 * pgbouncer requires.
 */
export async function startPgbouncer(binary: string, targetUrl: string): Promise<SideProxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const { username } = new URL(targetUrl);
  writeFileSync(path.join(dir, 'users.txt'), `"${username}" ""\n`, { mode: 0o644 });
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${TARGET.host} port=${TARGET.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 50',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  const child = spawn(binary, [...asRoot, path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForPort(port, child, () => stderr.slice(-500));
  const pid = child.pid!;
  return {
    url: viaPort(targetUrl, port),
    cpuMicros: () => processCpuMicros(pid),
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The floor of any Node proxy: a TCP pipe with no parsing, in this process like the gateway,
 * so the gap between it and the gateway is what the gateway's own work costs.
 */
export async function startTcpPipe(targetUrl: string): Promise<SideProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(TARGET.port, TARGET.host);
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: viaPort(targetUrl, port),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
