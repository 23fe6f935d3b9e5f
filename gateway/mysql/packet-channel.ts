import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { encodePacket, PacketFramer, type Packet } from './codec/packet-framer.ts';

/**
 * Packet-at-a-time I/O on a socket for the handshake phases (both sides), where each step waits
 * for one reply. Tracks the sequence id of the exchange, and hands the socket and any bytes read
 * past the handshake to the relay afterwards.
 */
export class PacketChannel {
  private framer: PacketFramer;
  private queue: Packet[] = [];
  private waiting: { resolve(p: Packet): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  /** The sequence id the next packet this side writes carries. */
  nextSequenceId = 0;

  constructor(
    public stream: Duplex,
    private readonly limits: { maxPacketBytes: number; timeoutMs: number; peer: string },
  ) {
    this.framer = new PacketFramer(limits.maxPacketBytes);
    this.listen();
  }

  private readonly onData = (chunk: Buffer) => {
    try {
      this.queue.push(...this.framer.push(chunk));
    } catch (error) {
      return this.fail(error as Error);
    }
    this.deliver();
  };

  private readonly onEnd = () =>
    this.fail(new GatehouseError('mysql.closed', `the ${this.limits.peer} closed the connection during the handshake`));

  private listen(): void {
    this.stream.on('data', this.onData);
    this.stream.once('end', this.onEnd);
    this.stream.once('close', this.onEnd);
    this.stream.once('error', this.onEnd);
    this.stream.resume();
  }

  private unlisten(): void {
    this.stream.pause();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting?.reject(error);
    this.waiting = undefined;
  }

  private deliver(): void {
    if (!this.waiting || this.queue.length === 0) return;
    const packet = this.queue.shift()!;
    const waiting = this.waiting;
    this.waiting = undefined;
    this.nextSequenceId = (packet.lastSequenceId + 1) & 0xff;
    waiting.resolve(packet);
  }

  /** The next packet from the peer; its sequence id sets the id of this side's next packet. */
  read(): Promise<Packet> {
    if (this.failure && this.queue.length === 0) return Promise.reject(this.failure);
    return new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new GatehouseError(
              'mysql.handshake-timeout',
              `the ${this.limits.peer} did not answer the handshake within ${this.limits.timeoutMs / 1000} s`,
            ),
          ),
        this.limits.timeoutMs,
      );
      this.waiting = {
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.deliver();
    });
  }

  write(payload: Buffer): void {
    const { bytes, nextSequenceId } = encodePacket(this.nextSequenceId, payload);
    this.nextSequenceId = nextSequenceId;
    this.stream.write(bytes);
  }

  /**
   * Replaces the stream by its TLS-wrapped successor. A MySQL client sends its TLS hello right
   * after the SSLRequest without waiting for an answer, so bytes already read are handed to TLS.
   */
  async upgrade(secure: (raw: Duplex) => Promise<tls.TLSSocket>): Promise<void> {
    if (this.queue.length > 0)
      throw new GatehouseError(
        'mysql.tls',
        `the ${this.limits.peer} sent packets before the TLS handshake; refusing the connection`,
      );
    this.unlisten();
    const early = this.framer.takeRemainder();
    this.stream = await secure(early.length > 0 ? withPrefix(this.stream, early) : this.stream);
    this.listen();
  }

  /** Stops reading; returns the stream and every byte received after the last packet read. */
  detach(): { stream: Duplex; leftover: Buffer } {
    this.unlisten();
    const rest = this.queue.map((p) => encodePacket(p.sequenceId, p.payload).bytes);
    return { stream: this.stream, leftover: Buffer.concat([...rest, this.framer.takeRemainder()]) };
  }
}

/** A stream that yields `prefix` and then whatever `raw` yields; writes go to `raw`. */
function withPrefix(raw: Duplex, prefix: Buffer): Duplex {
  const wrapped = new Duplex({
    read: () => raw.resume(),
    write: (chunk, _encoding, done) => raw.write(chunk, done),
    final: (done) => {
      raw.end();
      done();
    },
    destroy: (error, done) => {
      raw.destroy(error ?? undefined);
      done(error);
    },
  });
  wrapped.push(prefix);
  raw.on('data', (chunk: Buffer) => {
    if (!wrapped.push(chunk)) raw.pause();
  });
  raw.once('end', () => wrapped.push(null));
  raw.once('close', () => wrapped.destroy());
  raw.once('error', (error) => wrapped.destroy(error));
  return wrapped;
}
