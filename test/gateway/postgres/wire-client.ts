import net from 'node:net';
import { serialize } from 'pg-protocol';

/** One backend message as received: its type letter and body. */
export interface WireMessage {
  type: string;
  body: Buffer;
}

/**
 * A bare PostgreSQL protocol client for tests that need message sequences no driver sends
 * (pipelines with errors, re-Parse of a name, Close before Sync). Speaks cleartext password only.
 */
export class WireClient {
  private buffer = Buffer.alloc(0);
  private readonly received: WireMessage[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 5) {
        const length = this.buffer.readInt32BE(1);
        if (this.buffer.length < length + 1) break;
        this.received.push({ type: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, length + 1) });
        this.buffer = this.buffer.subarray(length + 1);
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(url: string): Promise<WireClient> {
    const parsed = new URL(url);
    const socket = net.connect({ host: parsed.hostname, port: Number(parsed.port) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new WireClient(socket);
    socket.write(serialize.startup({ user: decodeURIComponent(parsed.username), database: parsed.pathname.slice(1) }));
    await client.until((m) => m.type === 'R');
    socket.write(serialize.password(decodeURIComponent(parsed.password)));
    await client.readyForQuery();
    return client;
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Messages up to and including the next one matching `done`; resolves early if the socket closes. */
  async until(done: (m: WireMessage) => boolean): Promise<WireMessage[]> {
    const out: WireMessage[] = [];
    for (;;) {
      while (this.received.length > 0) {
        const message = this.received.shift()!;
        out.push(message);
        if (done(message)) return out;
      }
      if (this.closed) return out;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  readyForQuery(): Promise<WireMessage[]> {
    return this.until((m) => m.type === 'Z');
  }

  /** Everything the client could read from the messages, as text (for leak checks). */
  static text(messages: readonly WireMessage[]): string {
    return messages.map((m) => `${m.type}:${m.body.toString('latin1')}`).join('\n');
  }

  end(): void {
    this.socket.end(serialize.end());
  }
}
