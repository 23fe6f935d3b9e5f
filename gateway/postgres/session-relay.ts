import type { Duplex } from 'node:stream';
import { serialize } from 'pg-protocol';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { handleBackendFrame } from './backend-handler.ts';
import { backendMessages } from './backend-messages.ts';
import { type Frame, FrameSplitter } from './frame-splitter.ts';
import { handleFrontendFrame } from './frontend-handler.ts';
import { OutputBatch } from './output-batch.ts';
import { SQLSTATE } from './protocol-codes.ts';
import { RelayState } from './relay-state.ts';
import { SerialQueue } from './serial-queue.ts';
import type { GateControl, ResultFilter, StatementGate } from './statement-gate.ts';
import type { WatchedSettings } from './server-settings.ts';
import type { TargetConnection } from './target-connection.ts';
import type { BlastMeter } from './blast-meter.ts';

/** The longest client messages wait for a cancel the gateway sent to reach the target. */
const CANCEL_WAIT_MS = 5000;

export interface RelayOptions {
  /** The target's reported settings the session depends on; a change reported later closes the connection. */
  settings?: WatchedSettings;
  maxMessageBytes: number;
  sampleRows: number;
  /** The connection's read and write bounds; absent when none applies. */
  meter?: BlastMeter;
  onBytes?: (direction: 'in' | 'out', bytes: number) => void;
  onClosed?: (reason: string) => void;
  log?: (message: string) => void;
}

/**
 * The cancellation of the statement the gate is deciding. Its AbortController is made only when
 * the gate asks for the signal (a hold), not for every statement; a cancel that came first leaves
 * the signal aborted from the start.
 */
class HeldStatement {
  private controller: AbortController | undefined;
  private reason: unknown;
  private cancelled = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.controller) return this.controller.abort(reason);
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
  }
}

/**
 * Relays one authenticated client connection to its target after startup. Each direction is a
 * frame splitter feeding a serial queue; a queue that waits (audit, approval, catalog) pauses
 * its source socket, and a destination that is full pauses the source too (backpressure).
 */
export class SessionRelay {
  private readonly state = new RelayState();
  private readonly toTarget = new OutputBatch();
  private readonly toClient = new OutputBatch();
  private readonly fromClient: SerialQueue<Frame>;
  private readonly fromTarget: SerialQueue<Frame>;
  private hold: HeldStatement | undefined;
  /** A cancel the gateway sent is on its way: client messages wait, so it cannot hit their statements. */
  private cancelling: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly client: Duplex,
    private readonly target: TargetConnection,
    private readonly gate: StatementGate,
    private readonly filter: ResultFilter | undefined,
    private readonly options: RelayOptions,
  ) {
    const frontend = {
      state: this.state,
      gate,
      filter,
      toTarget: this.toTarget,
      control: () => this.control(),
      flushToTarget: () => this.flushToTarget(),
      end: (reason: string) => this.close(reason),
    };
    const backend = {
      state: this.state,
      gate,
      filter,
      settings: options.settings,
      toClient: this.toClient,
      sampleRows: options.sampleRows,
      flushToClient: () => this.flushToClient(),
      meter: options.meter,
      cancelQuery: () => this.cancelTargetQuery(),
    };
    this.fromClient = new SerialQueue(
      (frame) =>
        this.cancelling
          ? this.cancelling.then(() => handleFrontendFrame(frontend, frame))
          : handleFrontendFrame(frontend, frame),
      (error) => this.fail(error),
      () => this.clientQueueIdle(),
    );
    this.fromTarget = new SerialQueue(
      (frame) => handleBackendFrame(backend, frame),
      (error) => this.fail(error),
      () => this.targetQueueIdle(),
    );
  }

  /** Starts relaying; `pending` holds client bytes already read after the StartupMessage. */
  start(pending: Buffer): void {
    const clientFrames = new FrameSplitter({ startup: false, maxMessageBytes: this.options.maxMessageBytes });
    const targetFrames = new FrameSplitter({ startup: false, maxMessageBytes: 1 << 30 });
    this.client.on('data', (chunk: Buffer) => {
      this.options.onBytes?.('in', chunk.length);
      this.pushFrames(this.fromClient, () => clientFrames.push(chunk), this.client);
    });
    this.target.socket.on('data', (chunk: Buffer) => {
      this.options.onBytes?.('out', chunk.length);
      this.pushFrames(this.fromTarget, () => targetFrames.push(chunk), this.target.socket);
    });
    this.client.on('drain', () => this.resumeTarget());
    this.target.socket.on('drain', () => this.resumeClient());
    this.client.on('close', () => this.close('client-closed'));
    this.client.on('error', () => this.close('client-error'));
    this.target.socket.on('close', () => this.close('target-closed'));
    this.target.socket.on('error', () => this.close('target-error'));
    if (this.target.leftover.length > 0) this.target.socket.emit('data', this.target.leftover);
    if (pending.length > 0) this.client.emit('data', pending);
    this.target.socket.resume();
    this.client.resume();
  }

  /** A CancelRequest for this connection: cancels a held statement, else the target's query. */
  cancel(): void {
    if (this.hold) {
      this.hold.abort(new GatehouseError('pg.cancelled', 'canceling statement due to user request'));
      return;
    }
    void this.sendCancel();
  }

  /** Cancels the target's running statement (a read past its bound); client messages wait until the target took the cancel. */
  private cancelTargetQuery(): void {
    if (this.cancelling) return;
    this.cancelling = this.sendCancel().finally(() => {
      this.cancelling = undefined;
    });
  }

  /** A CancelRequest on its own connection to the target; settles once the target closed it (the signal was sent). */
  private async sendCancel(): Promise<void> {
    const { default: net } = await import('node:net');
    await new Promise<void>((resolve) => {
      const socket = net.connect({ host: this.target.host, port: this.target.port }, () => {
        socket.end(serialize.cancel(this.target.backendKey.pid, this.target.backendKey.secret));
      });
      socket.on('error', () => socket.destroy());
      socket.on('close', () => resolve());
      // A target that does not answer the cancel must not hold the client's messages for long.
      setTimeout(() => socket.destroy(), CANCEL_WAIT_MS).unref();
    });
  }

  /** Ends the connection from the gateway's side (session expired or revoked) with a FATAL error. */
  terminate(message: string, code: string = SQLSTATE.adminShutdown): void {
    if (this.closed) return;
    this.hold?.abort(new GatehouseError('pg.terminated', message));
    this.client.write(backendMessages.errorResponse({ severity: 'FATAL', code, message }));
    this.close('revoked');
  }

  private pushFrames(queue: SerialQueue<Frame>, split: () => Frame[], source: Duplex): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = split();
    } catch (error) {
      this.fail(error);
      return;
    }
    queue.push(frames);
    if (queue.busy) source.pause();
  }

  private control(): GateControl {
    const hold = new HeldStatement();
    this.hold = hold;
    return {
      notice: (message, detail, hint) =>
        this.client.write(backendMessages.noticeResponse({ code: '00000', message, detail, hint })),
      get signal() {
        return hold.signal;
      },
    };
  }

  private flushToTarget(): void {
    if (!this.toTarget.flush(this.target.socket)) this.client.pause();
  }

  private flushToClient(): void {
    if (!this.toClient.flush(this.client)) this.target.socket.pause();
  }

  private clientQueueIdle(): void {
    this.hold = undefined;
    this.flushToTarget();
    this.resumeClient();
  }

  private targetQueueIdle(): void {
    this.flushToClient();
    this.resumeTarget();
  }

  private resumeClient(): void {
    if (!this.closed && !this.fromClient.busy && !this.target.socket.writableNeedDrain) this.client.resume();
  }

  private resumeTarget(): void {
    if (!this.closed && !this.fromTarget.busy && !this.client.writableNeedDrain) this.target.socket.resume();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const known = error instanceof GatehouseError;
    this.options.log?.(`postgres relay: ${known ? error.code : 'internal'}: ${(error as Error).message}`);
    this.flushToClient();
    this.client.write(
      backendMessages.errorResponse({
        severity: 'FATAL',
        code: SQLSTATE.protocolViolation,
        message: known
          ? error.message
          : 'the gateway hit an internal error on this connection; it is closed, other connections are unaffected',
      }),
    );
    this.close(known ? error.code : 'internal-error');
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hold?.abort(new GatehouseError('pg.client-gone', 'the client went away'));
    this.fromClient.stop();
    this.fromTarget.stop();
    this.client.end();
    this.target.socket.end();
    setTimeout(() => {
      this.client.destroy();
      this.target.socket.destroy();
    }, 1000).unref();
    this.gate.close(reason);
    this.options.onClosed?.(reason);
  }
}
