import { AUDIT_EVENT_TYPES, type AuditEventData } from '../../wire/audit-events.ts';

/**
 * The audit event types the SSH adapter writes, from the shared vocabulary in
 * `wire/audit-events.ts` (verification rejects any other type). Output events of a shell carry
 * asciicast v2 events in `cast`, after an `ssh.shell` event whose `cast` is the header, so
 * `gatehouse audit replay` can rebuild the recording; exec output is plain masked text.
 */
export const SSH_AUDIT_EVENTS = {
  exec: AUDIT_EVENT_TYPES.sshExec,
  shell: AUDIT_EVENT_TYPES.sshShell,
  subsystem: AUDIT_EVENT_TYPES.sshSubsystem,
  forward: AUDIT_EVENT_TYPES.sshForward,
  output: AUDIT_EVENT_TYPES.sshOutput,
  exit: AUDIT_EVENT_TYPES.sshExit,
} as const;

export type SshAuditEventType = (typeof SSH_AUDIT_EVENTS)[keyof typeof SSH_AUDIT_EVENTS];

/** Data of each SSH event type, as the shared vocabulary defines it. */
export type SshAuditEventData = Pick<AuditEventData, SshAuditEventType>;

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
