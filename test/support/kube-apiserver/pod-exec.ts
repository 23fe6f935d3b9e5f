import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import type { KubeObject } from './object-store.ts';

/** The remotecommand channel ids (k8s.io/apimachinery/pkg/util/remotecommand). */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The WebSocket subprotocols the stand-in speaks, best first. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** One exec as the stand-in ran it: what a test asserts the gateway let through. */
export interface ExecRecord {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  protocol: string;
  stdin: string;
  exitCode: number | null;
}

function frame(channel: number, data: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]);
}

function exitStatus(code: number | null, signal: string | null): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  const exit = code ?? 128;
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: signal
      ? `command terminated by signal ${signal}`
      : `command terminated with non-zero exit code: error executing command [${exit}]`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exit) }] },
  });
}

function containerEnv(pod: KubeObject, container: string): Record<string, string> {
  const spec = (pod.spec?.containers ?? []).find((c: { name: string }) => c.name === container);
  const env: Record<string, string> = {};
  for (const entry of spec?.env ?? []) if (typeof entry.value === 'string') env[entry.name] = entry.value;
  return env;
}

/**
 * Runs an exec'd command as a real child process in the pod's sandbox directory, relaying its
 * stdio over remotecommand frames: stdin from channel 0 (a v5 CLOSE frame ends it), stdout and
 * stderr on 1 and 2, the exit Status on channel 3, then a normal close.
 */
export function runExec(
  ws: WebSocket,
  pod: KubeObject,
  options: { sandbox: string; container: string; command: string[]; stdin: boolean; protocol: string },
  record: ExecRecord,
): void {
  const cwd = join(options.sandbox, pod.metadata.namespace ?? 'default', pod.metadata.name);
  mkdirSync(cwd, { recursive: true });
  const child = spawn(options.command[0]!, options.command.slice(1), {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...containerEnv(pod, options.container) },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => ws.send(frame(CHANNEL.stdout, chunk)));
  child.stderr!.on('data', (chunk: Buffer) => ws.send(frame(CHANNEL.stderr, chunk)));
  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    if (channel === CHANNEL.stdin && child.stdin) {
      record.stdin += data.subarray(1).toString('utf8');
      child.stdin.write(data.subarray(1));
    } else if (channel === CHANNEL.close && data[1] === CHANNEL.stdin) child.stdin?.end();
  });
  ws.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let finished = false;
  const finish = (code: number | null, signal: string | null, message?: string): void => {
    if (finished) return;
    finished = true;
    record.exitCode = code;
    if (message) ws.send(frame(CHANNEL.stderr, message));
    ws.send(frame(CHANNEL.error, exitStatus(code, signal)));
    ws.close(1000);
  };
  child.on('error', (error) => finish(126, null, `exec failed: ${error.message}\n`));
  child.on('close', (code, signal) => finish(code, signal));
}
