import type { Clock } from '../identity/session-context.ts';

/** An approval that keeps a rule open for the rest of a session, until `until`. */
export interface ApprovalWindow {
  approvalId: string;
  decidedBy: string[];
  until: Date;
}

/**
 * Open approval windows, per session and rule. Kept in the memory of the replica that holds the
 * session's connections: a restart closes them, so reviewers are asked again (fail closed).
 */
export function createApprovalWindows(clock: Clock) {
  const windows = new Map<string, ApprovalWindow>();
  const key = (sessionId: string, rule: string): string => `${sessionId}\u0000${rule}`;
  return {
    open(sessionId: string, rule: string, seconds: number, approvalId: string, decidedBy: string[]): void {
      windows.set(key(sessionId, rule), {
        approvalId,
        decidedBy,
        until: new Date(clock.now().getTime() + seconds * 1000),
      });
    },
    find(sessionId: string, rule: string): ApprovalWindow | null {
      const window = windows.get(key(sessionId, rule));
      if (!window) return null;
      if (window.until.getTime() <= clock.now().getTime()) {
        windows.delete(key(sessionId, rule));
        return null;
      }
      return window;
    },
  };
}
