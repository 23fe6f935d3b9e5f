import { randomInt } from 'node:crypto';

/** Something that can be cancelled by a CancelRequest: a relayed connection. */
export interface Cancellable {
  cancel(): void;
}

/**
 * Maps the BackendKeyData the gateway hands to clients onto live connections. The gateway
 * issues its own keys (never the target's), so a CancelRequest can only reach the target
 * through the connection that owns it.
 */
export class CancelRegistry {
  private readonly entries = new Map<string, Cancellable>();

  register(connection: Cancellable): { pid: number; secret: number; release: () => void } {
    let pid: number;
    let secret: number;
    let key: string;
    do {
      pid = randomInt(1, 2 ** 31 - 1);
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
