import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the disconnect step needs to clean up one session. `actions/disconnect` is a separate
 * action, so the runner does not hand it the connect step's `GITHUB_STATE`; the state is kept in
 * a 0600 file under `RUNNER_TEMP` (job-scoped) instead of in an environment variable every later
 * step would see.
 */
export interface SessionState {
  sessionId: string;
  gateway: string;
  token: string;
  pid: number;
  bundlePath: string;
  logFile: string;
  expiresAt: string;
  connections: string[];
  /** The ssh_config written for SSH connections, included from ~/.ssh/config until disconnect. */
  sshConfig?: string;
  /** The kubeconfig written for Kubernetes connections (exported as KUBECONFIG). */
  kubeconfig?: string;
}

export const STATE = { dir: 'gatehouse', file: 'state.json' } as const;

export function sessionsRoot(runnerTemp: string): string {
  return join(runnerTemp, STATE.dir);
}

/** A private per-session folder for the state, the proxy's pidfile and logs. */
export function sessionDir(runnerTemp: string, key: string): string {
  const dir = join(sessionsRoot(runnerTemp), key.replace(/[^A-Za-z0-9_-]/g, '_'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function writeSessionState(dir: string, state: SessionState): string {
  const file = join(dir, STATE.file);
  writeFileSync(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  return file;
}

/** Every session this job opened and has not cleaned up yet, oldest first. */
export function readSessionStates(runnerTemp: string): { dir: string; state: SessionState }[] {
  const root = sessionsRoot(runnerTemp);
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  const found: { dir: string; state: SessionState }[] = [];
  for (const name of names) {
    const dir = join(root, name);
    try {
      const state = JSON.parse(readFileSync(join(dir, STATE.file), 'utf8')) as SessionState;
      if (typeof state.sessionId === 'string' && typeof state.token === 'string' && Number.isInteger(state.pid))
        found.push({ dir, state });
    } catch {
      continue;
    }
  }
  return found;
}

/** Removes the state file (it holds the session token) once the session is cleaned up. */
export function forgetSessionState(dir: string): void {
  rmSync(join(dir, STATE.file), { force: true });
}
