import { AsciicastRecorder } from '../ssh/asciicast-recorder.ts';
import type { AsciicastEvent, AsciicastHeader } from '../ssh/ssh-audit-events.ts';
import { EXEC_CHANNEL, type ExecFrame } from './exec-frames.ts';

/** The terminal size a recording starts with when the client sent none (kubectl exec without -t). */
export const DEFAULT_EXEC_SIZE = { width: 80, height: 24 } as const;

/** The asciicast header of one exec (the `cast` of its `k8s.exec` event). */
export function execCastHeader(startedAt: number, title: string): AsciicastHeader {
  return { version: 2, ...DEFAULT_EXEC_SIZE, timestamp: Math.floor(startedAt / 1000), title };
}

/**
 * The exit code an exec's Status frame (error channel) reports: 0 for Success, the `ExitCode`
 * cause of a NonZeroExitCode failure, null for any other Status or one that is not JSON.
 */
export function execExitCode(status: Buffer): number | null {
  let parsed: { status?: unknown; reason?: unknown; details?: { causes?: { reason?: unknown; message?: unknown }[] } };
  try {
    parsed = JSON.parse(status.toString('utf8'));
  } catch {
    return null;
  }
  if (parsed.status === 'Success') return 0;
  const cause = parsed.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return parsed.reason === 'NonZeroExitCode' && Number.isInteger(code) ? code : null;
}

/**
 * Records one exec as asciicast v2: the masked stdout and stderr the client was sent as output,
 * its stdin as input, resize frames as resizes, handed to `flush` in batches (the adapter writes
 * each as a `k8s.output` event). Frames given to it must already be masked.
 */
export class ExecRecording {
  private readonly recorder: AsciicastRecorder;
  /** The exit code once the Status frame was seen. */
  exitCode: number | null = null;

  constructor(startedAt: number, now: () => number, flush: (events: AsciicastEvent[]) => Promise<void>) {
    this.recorder = new AsciicastRecorder(startedAt, now, flush);
  }

  /** A frame the API server sent (after masking). */
  fromServer(frame: ExecFrame): void {
    if (frame.channel === EXEC_CHANNEL.stdout || frame.channel === EXEC_CHANNEL.stderr)
      this.recorder.output(frame.data);
    else if (frame.channel === EXEC_CHANNEL.error) this.exitCode = execExitCode(frame.data);
  }

  /** A frame the client sent: stdin is input, a resize (`{"Width":..,"Height":..}`) a resize. */
  fromClient(frame: ExecFrame): void {
    if (frame.channel === EXEC_CHANNEL.stdin) this.recorder.input(frame.data);
    else if (frame.channel === EXEC_CHANNEL.resize) {
      try {
        const size = JSON.parse(frame.data.toString('utf8')) as { Width?: unknown; Height?: unknown };
        if (Number.isInteger(size.Width) && Number.isInteger(size.Height))
          this.recorder.resize(size.Width as number, size.Height as number);
      } catch {}
    }
  }

  /** Writes what is buffered; resolves when every batch is stored. */
  close(): Promise<void> {
    return this.recorder.close();
  }
}
