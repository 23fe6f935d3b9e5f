import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How a test runs the real OpenSSH client against the gateway. */
export interface SshRun {
  port: number;
  user: string;
  /** known_hosts line of the gateway: the client refuses any other host key. */
  knownHosts: string;
  password?: string;
  identityFile?: string;
  /** Extra ssh options before the host, e.g. ['-W', 'host:22'] or ['-tt']. */
  options?: string[];
  command?: string;
  /** Written to ssh's stdin, then stdin is closed (unless keepStdinOpen). */
  stdin?: string;
  /** Called with ssh's stdin when it starts, for interactive tests. */
  onStart?(stdin: NodeJS.WritableStream, stdout: NodeJS.ReadableStream): void;
  timeoutMs?: number;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ssh` with a throwaway known_hosts and askpass, strict host key checking and no config. */
export async function runSsh(run: SshRun): Promise<SshResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-client-'));
  try {
    writeFileSync(join(dir, 'known_hosts'), `${run.knownHosts}\n`);
    writeFileSync(join(dir, 'askpass'), '#!/bin/sh\nprintf "%s\\n" "$GATEHOUSE_TEST_PASSWORD"\n', { mode: 0o700 });
    const args = [
      '-F',
      '/dev/null',
      '-p',
      String(run.port),
      '-l',
      run.user,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'NumberOfPasswordPrompts=1',
      '-o',
      `PreferredAuthentications=${run.identityFile ? 'publickey' : 'password'}`,
      ...(run.identityFile ? ['-o', 'IdentitiesOnly=yes', '-i', run.identityFile] : []),
      ...(run.options ?? []),
      '127.0.0.1',
      ...(run.command !== undefined ? [run.command] : []),
    ];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      SSH_ASKPASS: join(dir, 'askpass'),
      SSH_ASKPASS_REQUIRE: 'force',
      DISPLAY: ':0',
      GATEHOUSE_TEST_PASSWORD: run.password ?? '',
    };
    const child = spawn('ssh', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    if (run.onStart) run.onStart(child.stdin, child.stdout);
    else child.stdin.end(run.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs ?? 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', (status) => resolve(status)));
    clearTimeout(timer);
    return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
