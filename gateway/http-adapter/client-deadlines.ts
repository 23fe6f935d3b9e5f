import { DEADLINE_CODES } from './parse-errors.ts';

/** How long a client may take; a slow client holds only its own tunnel, never the gateway. */
export interface DeadlineSettings {
  /** From the stream opening to the end of the first request head. */
  headersMs: number;
  /** From the end of a head to the end of its body. */
  bodyMs: number;
  /** From the end of a response to the end of the next head (keep-alive idle plus head). */
  idleMs: number;
}

export const DEFAULT_DEADLINES = {
  headersMs: 10_000,
  bodyMs: 120_000,
  idleMs: 65_000,
} as const satisfies DeadlineSettings;

/** What the adapter does when a deadline passes: answer 408 (or cut the stream) with this code. */
export type DeadlineExpired = (code: (typeof DEADLINE_CODES)[keyof typeof DEADLINE_CODES]) => void;

/**
 * The slow-client deadlines of one client stream. Node's `headersTimeout`/`requestTimeout` are
 * checked only for connections of a *listening* server, and a tunnel stream is handed to a server
 * that never listens, so the adapter keeps its own: a head must arrive in time, a body must finish
 * in time, and an idle keep-alive stream is closed. A response held for review is not the client's
 * delay and runs no deadline.
 */
export class ClientDeadlines {
  private headTimer: NodeJS.Timeout | undefined;
  private readonly bodyTimers = new Set<NodeJS.Timeout>();
  private outstanding = 0;
  private stopped = false;

  constructor(
    private readonly settings: DeadlineSettings,
    private readonly expired: DeadlineExpired,
  ) {
    this.armHead(settings.headersMs);
  }

  /** A request head was read: its body must now arrive in time; call `bodyDone` when it has. */
  headReceived(): { bodyDone(): void } {
    this.clearHead();
    this.outstanding++;
    const timer = setTimeout(() => {
      this.bodyTimers.delete(timer);
      if (!this.stopped) this.expired(DEADLINE_CODES.body);
    }, this.settings.bodyMs);
    timer.unref();
    this.bodyTimers.add(timer);
    return {
      bodyDone: () => {
        clearTimeout(timer);
        this.bodyTimers.delete(timer);
      },
    };
  }

  /** A response was sent in full: with nothing else outstanding, the next head is awaited. */
  responseDone(): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    if (this.outstanding === 0) this.armHead(this.settings.idleMs);
  }

  /** The stream closed or was upgraded: no deadline applies any more. */
  stop(): void {
    this.stopped = true;
    this.clearHead();
    for (const timer of this.bodyTimers) clearTimeout(timer);
    this.bodyTimers.clear();
  }

  private armHead(ms: number): void {
    this.clearHead();
    if (this.stopped) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      if (!this.stopped) this.expired(DEADLINE_CODES.headers);
    }, ms);
    this.headTimer.unref();
  }

  private clearHead(): void {
    if (this.headTimer) clearTimeout(this.headTimer);
    this.headTimer = undefined;
  }
}
