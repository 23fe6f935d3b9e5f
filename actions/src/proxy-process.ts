import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import { parseReadyLine, type ReadyLine } from './client-env.ts';

/** Everything needed to start the client bundle as a detached background process. */
export interface ProxyLaunch {
  nodePath: string;
  bundlePath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Receives the client's stdout, where its single JSON ready line appears; created 0600. */
  readyFile: string;
  /** Receives the client's stderr for the rest of the job. */
  logFile: string;
  pidFile: string;
  readyTimeoutMs?: number;
  pollMs?: number;
}

/** A proxy that announced it is ready; it keeps running after the step exits. */
export interface RunningProxy {
  pid: number;
  ready: ReadyLine;
}

/**
 * Starts the client detached (its own process group, stdio on files, unref'd) so the step can
 * exit while the proxy serves later steps, then waits for the JSON ready line.
 */
export async function startDetachedProxy(launch: ProxyLaunch): Promise<RunningProxy> {
  const out = openSync(launch.readyFile, 'w', 0o600);
  const err = openSync(launch.logFile, 'a', 0o600);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  try {
    const child = spawn(launch.nodePath, [launch.bundlePath, ...launch.args], {
      detached: true,
      stdio: ['ignore', out, err],
      env: launch.env,
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
    });
    child.once('error', (error) => {
      spawnError = error;
    });
    child.unref();
    if (child.pid === undefined) {
      await new Promise((resolve) => setImmediate(resolve));
      throw new GatehouseError(
        'proxy-start-failed',
        `Could not start the local proxy with ${launch.nodePath}: ${spawnError?.message ?? 'no process id'}.`,
      );
    }
    const pid = child.pid;
    writeFileSync(launch.pidFile, `${pid}\n`, { mode: 0o600 });
    const deadline = Date.now() + (launch.readyTimeoutMs ?? 30_000);
    const pollMs = launch.pollMs ?? 20;
    for (;;) {
      const line = firstJsonLine(readFileSync(launch.readyFile, 'utf8'));
      if (line !== undefined) return { pid, ready: parseReadyLine(line) };
      if (exit || spawnError) {
        const how = spawnError
          ? spawnError.message
          : exit!.signal
            ? `signal ${exit!.signal}`
            : `exit code ${exit!.code}`;
        throw new GatehouseError(
          'proxy-start-failed',
          `The local proxy stopped before it was ready (${how}). Its log says:\n${tail(launch.logFile)}`,
        );
      }
      if (Date.now() > deadline) {
        stopProcess(pid);
        throw new GatehouseError(
          'proxy-start-timeout',
          `The local proxy was not ready within ${Math.round((launch.readyTimeoutMs ?? 30_000) / 1000)}s; it was stopped. Its log says:\n${tail(launch.logFile)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

function firstJsonLine(text: string): string | undefined {
  const lines = text.split('\n');
  const complete = lines.slice(0, -1);
  const last = lines.at(-1)?.trim() ?? '';
  for (const line of complete) {
    if (line.trim().startsWith('{')) return line.trim();
  }
  if (last.startsWith('{') && last.endsWith('}')) {
    try {
      JSON.parse(last);
      return last;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The last lines of a log file, for error messages; the client never logs secrets. */
export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  const text = readFileSync(file, 'utf8').trimEnd();
  return text === '' ? '(empty log)' : text.split('\n').slice(-lines).join('\n');
}

/** Whether a process with this pid exists (and, on Linux, still runs the expected command). */
export function processAlive(pid: number, expect?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (existsSync(`/proc/${pid}/stat`)) {
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    } catch {
      return false;
    }
  }
  if (expect && existsSync(`/proc/${pid}/cmdline`)) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(expect);
    } catch {
      return false;
    }
  }
  return true;
}

/** Sends SIGTERM (the client ends its session and exits); returns false when nothing was running. */
export function stopProcess(pid: number, expect?: string): boolean {
  if (!processAlive(pid, expect)) return false;
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}

/** Waits for a stopped process to exit, escalating to SIGKILL after the grace period. */
export async function waitForExit(pid: number, graceMs = 5_000, pollMs = 25): Promise<'exited' | 'killed'> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return 'exited';
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'exited';
  }
  return 'killed';
}
