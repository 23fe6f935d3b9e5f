import { randomInt } from 'node:crypto';

/** Something that can be cancelled by a CancelRequest: a relayed connection. */
export interface Cancellable {
  cancel(): void;
}

/**
 * Maps the BackendKeyData the gateway hands to clients onto live connections. The client gets the
 * target's own pid (what `pg_backend_pid()` and notifications carry, so a client recognises its own
 * NOTIFY) with a secret the gateway issues (never the target's), so a CancelRequest can only reach
 * the target through the connection that owns it.
 */
export class CancelRegistry {
  private readonly entries = new Map<string, Cancellable>();

  /** `targetPid`: the target backend's pid (0 when the target sent none: a random one is issued). */
  register(connection: Cancellable, targetPid = 0): { pid: number; secret: number; release: () => void } {
    let pid: number;
    let secret: number;
    let key: string;
    do {
      pid = targetPid > 0 ? targetPid : randomInt(1, 2 ** 31 - 1);
      secret = randomInt(0, 2 ** 31 - 1);
      key = `${pid}:${secret}`;
    } while (this.entries.has(key));
    this.entries.set(key, connection);
    return { pid, secret, release: () => this.entries.delete(key) };
  }

  cancel(pid: number, secret: number): boolean {
    const entry = this.entries.get(`${pid}:${secret}`);
    entry?.cancel();
    return entry !== undefined;
  }
}
