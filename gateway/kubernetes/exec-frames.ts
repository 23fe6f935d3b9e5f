import { once } from 'node:events';
import { MASKING_WINDOW, MaskingStream, type MaskingWindow } from '../ssh/masking-stream.ts';
import type { MaskText } from './object-masking.ts';

/** Channel ids of the remotecommand WebSocket protocol (v4/v5.channel.k8s.io). */
export const EXEC_CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The exec subprotocol the gateway relays; kubectl 1.30+ offers it first. */
export const EXEC_PROTOCOL_V5 = 'v5.channel.k8s.io';

export interface ExecFrame {
  channel: number;
  data: Buffer;
}

/** One binary WebSocket message → its channel and payload; null for an empty message. */
export function decodeExecFrame(message: Buffer): ExecFrame | null {
  if (message.length === 0) return null;
  return { channel: message[0]!, data: message.subarray(1) };
}

export function encodeExecFrame(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/**
 * Masks what an exec sends back, frame by frame: stdout and stderr each go through their own
 * content-detector stream (chunk-boundary safe: a token split over two frames is still masked),
 * and the closing frames — the exit Status on the error channel, a v5 CLOSE — are held until the
 * output before them has been flushed, so the client sees output, then status, in order.
 * `emit` receives masked frames (what the client and the recording get).
 */
export class ExecOutputMasker {
  private readonly streams = new Map<number, MaskingStream>();
  private chain: Promise<void> = Promise.resolve();
  /** Values masked so far, over both channels. */
  masked = 0;

  constructor(
    private readonly maskText: MaskText,
    private readonly emit: (frame: ExecFrame) => void,
    private readonly window: MaskingWindow = MASKING_WINDOW,
  ) {}

  /** Takes one frame the API server sent. */
  push(message: Buffer): void {
    const frame = decodeExecFrame(message);
    if (!frame) return;
    this.chain = this.chain.then(() => this.handle(frame));
  }

  /** Resolves when every frame pushed so far has been emitted (flushing held-back output). */
  async end(): Promise<void> {
    this.chain = this.chain.then(() => this.flush([...this.streams.keys()]));
    await this.chain;
  }

  private async handle(frame: ExecFrame): Promise<void> {
    const { channel, data } = frame;
    if (channel === EXEC_CHANNEL.stdout || channel === EXEC_CHANNEL.stderr) {
      this.stream(channel).write(data);
      return;
    }
    if (channel === EXEC_CHANNEL.close) await this.flush(data.length ? [data[0]!] : []);
    else if (channel === EXEC_CHANNEL.error) await this.flush([...this.streams.keys()]);
    const text = channel === EXEC_CHANNEL.error ? this.maskText(data.toString('utf8')) : null;
    if (text) this.masked += text.count;
    this.emit({ channel, data: text && text.count ? Buffer.from(text.text, 'utf8') : data });
  }

  private stream(channel: number): MaskingStream {
    let stream = this.streams.get(channel);
    if (!stream) {
      stream = new MaskingStream(this.maskText, this.window);
      stream.on('data', (chunk: Buffer) => this.emit({ channel, data: chunk }));
      this.streams.set(channel, stream);
    }
    return stream;
  }

  private async flush(channels: number[]): Promise<void> {
    for (const channel of channels) {
      const stream = this.streams.get(channel);
      if (!stream) continue;
      this.streams.delete(channel);
      stream.end();
      await once(stream, 'end');
      this.masked += stream.masked;
    }
  }
}
