/** How long a WebSocket exec's outcome is remembered for kubectl's SPDY retry of it. */
export const EXEC_RETRY_WINDOW_MS = 30_000;

/** The kubectl that relays exec over WebSocket, which is what the gateway speaks. */
export const WEBSOCKET_KUBECTL = '1.30';

/** What the client is told for an exec it sent over SPDY. */
export interface SpdyAnswer {
  status: number;
  message: string;
  /** True when this answers a WebSocket attempt seen just before (its refusal is repeated, not re-decided). */
  repeated: boolean;
}

/** The exec target an outcome is remembered under: path and query in a fixed order. */
export function execKey(path: string, query: readonly [string, string][]): string {
  const sorted = [...query].sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  return `${path}?${sorted.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

/**
 * kubectl 1.30+ tries an exec over WebSocket and, when the upgrade fails for any reason (a
 * denial, a refused approval, an upstream error), retries the same exec over SPDY. The gateway
 * relays WebSocket only, so the retry must neither be decided again (a second approval request)
 * nor hide why the first failed: it gets the first attempt's answer, once. A SPDY exec with no
 * WebSocket attempt before it comes from an older kubectl and is told which version to use.
 * One memory per client connection of a session.
 */
export class ExecRetryMemory {
  private readonly outcomes = new Map<string, { status: number; message: string; at: number }>();

  constructor(
    private readonly now: () => number,
    private readonly windowMs: number = EXEC_RETRY_WINDOW_MS,
  ) {}

  /** Remembers how a WebSocket exec ended when it did not upgrade (status other than 101). */
  rememberRefusal(key: string, status: number, message: string): void {
    this.prune();
    this.outcomes.set(key, { status, message, at: this.now() });
  }

  /** The answer for a SPDY exec; a remembered outcome is used up by it. */
  answerSpdy(key: string): SpdyAnswer {
    this.prune();
    const found = this.outcomes.get(key);
    if (found) {
      this.outcomes.delete(key);
      return { status: found.status, message: found.message, repeated: true };
    }
    return {
      status: 400,
      message:
        `gatehouse relays exec, attach and port-forward over WebSocket only (SPDY is not supported): ` +
        `use kubectl ${WEBSOCKET_KUBECTL} or newer, where WebSocket is the default`,
      repeated: false,
    };
  }

  private prune(): void {
    const oldest = this.now() - this.windowMs;
    for (const [key, outcome] of this.outcomes) if (outcome.at < oldest) this.outcomes.delete(key);
  }
}
