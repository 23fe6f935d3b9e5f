/**
 * Audit event types the SSH adapter writes. `gatehouse audit show` prints them and
 * `gatehouse audit replay` rebuilds shell recordings from the `shell*` ones, so the names are a
 * contract between the adapter and the audit commands.
 */
export const SSH_AUDIT_EVENTS = {
  login: 'ssh.login',
  loginFailed: 'ssh.login-failed',
  exec: 'ssh.exec',
  execEnd: 'ssh.exec.end',
  shell: 'ssh.shell',
  shellOutput: 'ssh.shell.output',
  shellEnd: 'ssh.shell.end',
  subsystem: 'ssh.subsystem',
  subsystemEnd: 'ssh.subsystem.end',
  forward: 'ssh.forward',
  env: 'ssh.env',
  upstreamError: 'ssh.upstream-error',
  logout: 'ssh.logout',
} as const;

export type SshAuditEventType = (typeof SSH_AUDIT_EVENTS)[keyof typeof SSH_AUDIT_EVENTS];

/** Header of an asciicast v2 recording (https://docs.asciinema.org/manual/asciicast/v2/). */
export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp: number;
  title?: string;
  env?: Record<string, string>;
}

/** One asciicast v2 event: seconds since start, `o`utput / `i`nput / `r`esize, data. */
export type AsciicastEvent = [number, 'o' | 'i' | 'r', string];
