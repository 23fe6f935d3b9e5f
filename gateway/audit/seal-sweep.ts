import type { Store } from '../store/store.ts';
import type { SessionEndReason } from '../../wire/audit-events.ts';

/** What the sweep looks at and what it does about a session that ended elsewhere. */
export interface SealSweepOptions {
  everyMs: number;
  /** Sessions this process holds an open chain of. */
  openSessions: () => string[];
  store: Pick<Store, 'getSession'>;
  seal: (sessionId: string, reason: SessionEndReason) => Promise<void>;
  log: (message: string) => void;
}

/**
 * Seals this process's chain of a session that was ended by another replica (or by the app on
 * `workflow_job.completed`) without this one being told: otherwise the chain would stay open until
 * the process stops, and the session's final hash would not exist. A backstop: a replica that is
 * told (the session service's end listeners) seals at once.
 */
export function startSealSweep(options: SealSweepOptions): { stop(): void } {
  if (options.everyMs <= 0) return { stop() {} };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    sweep(options)
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

async function sweep(options: SealSweepOptions): Promise<void> {
  for (const sessionId of options.openSessions()) {
    const session = await options.store.getSession(sessionId);
    if (!session?.endedAt) continue;
    await options
      .seal(sessionId, (session.endReason ?? 'revoked') as SessionEndReason)
      .catch((error: Error) => options.log(`audit: cannot seal ended session ${sessionId}: ${error.message}`));
  }
}
