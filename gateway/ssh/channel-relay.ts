import type { ClientChannel, ServerChannel } from 'ssh2';
import { MaskingStream, type MaskText } from './masking-stream.ts';

/** What went through one relayed channel, for the audit event that closes it. */
export interface RelayResult {
  exitStatus: number | null;
  exitSignal: string | null;
  stdoutBytes: number;
  stderrBytes: number;
  /** Masked stdout/stderr, up to the capture limit. */
  stdout: Buffer;
  stderr: Buffer;
  masked: number;
  /** True when the client closed the channel before the remote command finished. */
  clientClosed: boolean;
}

export interface RelayOptions {
  maskText: MaskText;
  /** Bytes of each of stdout and stderr kept in the result; 0 keeps none. */
  captureBytes: number;
  /** Masked output, as the client sees it (for terminal recordings). */
  onOutput?(bytes: Buffer): void;
  /** Raw input from the client. */
  onInput?(bytes: Buffer): void;
  /**
   * Runs after the output went out but before the client gets the exit status, so the audit
   * trail of a command is written before the job can move on (and, say, end the session).
   */
  beforeExit?(result: RelayResult): Promise<void>;
}

/**
 * Joins a client channel to an upstream channel: input goes up unchanged, stdout and stderr
 * come back through the content detectors (so the client only ever sees masked output), and
 * the remote exit status or signal is passed on before the client channel is closed.
 */
export function relayChannel(
  client: ServerChannel,
  upstream: ClientChannel,
  options: RelayOptions,
): Promise<RelayResult> {
  const result: RelayResult = {
    exitStatus: null,
    exitSignal: null,
    stdoutBytes: 0,
    stderrBytes: 0,
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
    masked: 0,
    clientClosed: false,
  };
  const stdout = new MaskingStream(options.maskText);
  const stderr = new MaskingStream(options.maskText);
  const captured = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const capture = (which: 'stdout' | 'stderr', bytes: Buffer) => {
    const total = which === 'stdout' ? (result.stdoutBytes += bytes.length) : (result.stderrBytes += bytes.length);
    const before = total - bytes.length;
    if (before < options.captureBytes) captured[which].push(bytes.subarray(0, options.captureBytes - before));
  };
  stdout.on('data', (bytes: Buffer) => {
    capture('stdout', bytes);
    options.onOutput?.(bytes);
  });
  stderr.on('data', (bytes: Buffer) => {
    capture('stderr', bytes);
    options.onOutput?.(bytes);
  });
  upstream.pipe(stdout);
  upstream.stderr.pipe(stderr);
  const delivered = Promise.all([deliver(stdout, client), deliver(stderr, client.stderr)]);
  client.on('data', (bytes: Buffer) => {
    options.onInput?.(bytes);
    if (!upstream.write(bytes)) {
      client.pause();
      upstream.once('drain', () => client.resume());
    }
  });
  client.once('end', () => upstream.end());
  upstream.once('exit', (code: number | null, signal?: string) => {
    result.exitStatus = typeof code === 'number' ? code : null;
    result.exitSignal = signal ?? null;
  });

  return new Promise((resolve) => {
    let done = false;
    const collect = () => {
      result.stdout = Buffer.concat(captured.stdout);
      result.stderr = Buffer.concat(captured.stderr);
      result.masked = stdout.masked + stderr.masked;
    };
    const finish = () => {
      if (done) return;
      done = true;
      collect();
      resolve(result);
    };
    client.once('close', () => {
      if (done) return;
      result.clientClosed = true;
      upstream.close();
      stdout.destroy();
      stderr.destroy();
      finish();
    });
    upstream.once('close', () => {
      for (const stream of [stdout, stderr]) if (!stream.writableEnded) stream.end();
      void delivered
        .then(async () => {
          collect();
          await options.beforeExit?.(result);
        })
        .catch(() => undefined)
        .then(() => {
          if (done) return;
          if (client.writable) {
            sendExit(client, result);
            client.end();
          }
          finish();
        });
    });
  });
}

function sendExit(client: ServerChannel, result: RelayResult): void {
  try {
    if (result.exitSignal) client.exit(result.exitSignal, false, '');
    else client.exit(result.exitStatus ?? 0);
  } catch {
    client.exit(255);
  }
}

/**
 * Writes everything `source` produces to `dest` with backpressure, resolving once the source
 * ended and every write was handed to the SSH layer, so the exit status goes after the output.
 */
function deliver(source: MaskingStream, dest: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    let outstanding = 0;
    let ended = false;
    const settle = () => {
      if (ended && outstanding === 0) resolve();
    };
    source.on('data', (bytes: Buffer) => {
      outstanding++;
      const more = dest.write(bytes, () => {
        outstanding--;
        settle();
      });
      if (!more) {
        source.pause();
        dest.once('drain', () => source.resume());
      }
    });
    const finish = () => {
      ended = true;
      settle();
    };
    source.once('end', finish);
    source.once('close', finish);
  });
}
