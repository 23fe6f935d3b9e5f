import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { backendMessages } from './backend-messages.ts';
import { type Frame, FrameSplitter } from './frame-splitter.ts';
import { decodeCancelRequest, decodePassword, decodeStartupParameters } from './frontend-messages.ts';
import { FRONTEND, SQLSTATE, STARTUP_CODES } from './protocol-codes.ts';

/** Encodings in which every byte the parser sees means what UTF-8 says it means. */
const SAFE_ENCODINGS = /^(utf-?8|unicode|sql_ascii)$/i;

export type HandshakeResult =
  | { kind: 'cancel'; pid: number; secret: number }
  | {
      kind: 'startup';
      stream: Duplex;
      user: string;
      database: string;
      /** Every parameter of the StartupMessage; the adapter judges the settings among them (`startup-settings.ts`). */
      parameters: ReadonlyMap<string, string>;
      encrypted: boolean;
      frames: FrameSplitter;
    };

export interface HandshakeOptions {
  tls?: tls.SecureContextOptions;
  maxMessageBytes: number;
  /** Aborted when the client's time to log in is up (`limits.authentication_timeout_seconds`). */
  deadline?: AbortSignal;
}

/**
 * The server side of PostgreSQL's startup: SSLRequest (TLS when configured, else 'N'),
 * GSSENCRequest ('N'), CancelRequest, and the StartupMessage (3.0; newer minors are answered
 * with NegotiateProtocolVersion). Returns the stream to use afterwards (TLS-wrapped or not).
 */
export async function acceptStartup(socket: Duplex, options: HandshakeOptions): Promise<HandshakeResult> {
  let stream = socket;
  let encrypted = false;
  const frames = new FrameSplitter({ startup: true, maxMessageBytes: 10_000 });
  for (let attempt = 0; attempt < 3; attempt++) {
    const frame = await readFrame(stream, frames, options.deadline);
    const code = frame.body.readInt32BE(0);
    if (code === STARTUP_CODES.sslRequest || code === STARTUP_CODES.gssEncRequest) {
      if (frames.buffered > 0)
        throw new GatehouseError('pg.startup', 'data arrived before the TLS handshake; refusing the connection');
      if (code === STARTUP_CODES.sslRequest && options.tls && !encrypted) {
        stream.write(Buffer.from('S'));
        stream = await upgrade(stream, options.tls, options.deadline);
        encrypted = true;
      } else {
        stream.write(Buffer.from('N'));
      }
      continue;
    }
    if (code === STARTUP_CODES.cancelRequest) return { kind: 'cancel', ...decodeCancelRequest(frame.body) };
    if (code >> 16 !== 3) {
      throw new GatehouseError(
        'pg.startup',
        `unsupported protocol version ${code >> 16}.${code & 0xffff}; use a PostgreSQL 3.x client`,
      );
    }
    const params = checkedStartupParameters(stream, frame.body, code);
    frames.startup = false;
    return {
      kind: 'startup',
      stream,
      user: params.get('user') ?? '',
      database: params.get('database') ?? params.get('user') ?? '',
      parameters: params,
      encrypted,
      frames,
    };
  }
  throw new GatehouseError('pg.startup', 'too many negotiation requests before the StartupMessage');
}

/**
 * The StartupMessage's parameters, refused when they ask for what the gateway cannot analyse
 * (replication, a multi-byte client encoding); newer protocol minors and `_pq_.` options are
 * answered with NegotiateProtocolVersion.
 */
function checkedStartupParameters(stream: Duplex, body: Buffer, code: number): Map<string, string> {
  const params = decodeStartupParameters(body);
  const unsupportedOptions = [...params.keys()].filter((k) => k.startsWith('_pq_.'));
  if ((code & 0xffff) > 0 || unsupportedOptions.length > 0)
    stream.write(backendMessages.negotiateProtocolVersion(0, unsupportedOptions));
  if (params.has('replication')) {
    throw new GatehouseError(
      'pg.replication',
      'replication connections are not allowed through the gateway; remove the replication parameter',
    );
  }
  const encoding = params.get('client_encoding');
  if (encoding !== undefined && !SAFE_ENCODINGS.test(encoding)) {
    throw new GatehouseError(
      'pg.encoding',
      `client_encoding ${encoding} is not accepted: the gateway analyses statements as UTF-8, and multi-byte encodings could hide quotes from it; use client_encoding=UTF8`,
    );
  }
  return params;
}

/** Asks the client for its password in cleartext and returns it (the caller checks the channel is safe). */
export async function requestPassword(stream: Duplex, frames: FrameSplitter, deadline?: AbortSignal): Promise<string> {
  stream.write(backendMessages.authenticationCleartextPassword());
  const frame = await readFrame(stream, frames, deadline);
  if (frame.type === FRONTEND.terminate)
    throw new GatehouseError('pg.startup-closed', 'the client sent Terminate instead of its password');
  if (frame.type !== FRONTEND.password) throw new GatehouseError('pg.startup', 'expected a password message');
  return decodePassword(frame.body);
}

/** Sends a FATAL error during startup and closes the stream. */
export function refuseStartup(stream: Duplex, code: string, message: string, hint?: string, detail?: string): void {
  stream.end(backendMessages.errorResponse({ severity: 'FATAL', code, message, hint, detail }));
  // The handshake paused the stream: read what the client still sends (its Terminate) so its close
  // is seen, and drop a client that never closes.
  stream.resume();
  setTimeout(() => stream.destroy(), 1000).unref();
}

export { SQLSTATE };

/** node-postgres' quick disconnect: a Terminate where the StartupMessage would be. */
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

function readFrame(stream: Duplex, frames: FrameSplitter, deadline?: AbortSignal): Promise<Frame> {
  const ready = frames.push(Buffer.alloc(0));
  if (ready.length > 0) return Promise.resolve(keepRest(frames, ready));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new GatehouseError('pg.startup-timeout', 'no startup message within 30 s')),
      30_000,
    );
    const onDeadline = () => done(timedOut(deadline!));
    if (deadline?.aborted) return reject(timedOut(deadline));
    deadline?.addEventListener('abort', onDeadline, { once: true });
    const onData = (chunk: Buffer) => {
      if (frames.startup && frames.buffered === 0 && chunk.subarray(0, 5).equals(TERMINATE))
        return done(new GatehouseError('pg.startup-closed', 'the client sent Terminate before its startup message'));
      try {
        const got = frames.push(chunk);
        if (got.length > 0) done(undefined, keepRest(frames, got));
      } catch (error) {
        done(error as Error);
      }
    };
    const onEnd = () =>
      done(new GatehouseError('pg.startup-closed', 'the client closed the connection during startup'));
    const done = (error?: Error, frame?: Frame) => {
      clearTimeout(timer);
      deadline?.removeEventListener('abort', onDeadline);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onEnd);
      stream.pause();
      if (error) reject(error);
      else resolve(frame!);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onEnd);
    stream.resume();
  });
}

/** Startup messages come one at a time; anything after the first goes back to the splitter. */
function keepRest(frames: FrameSplitter, got: Frame[]): Frame {
  if (got.length > 1) throw new GatehouseError('pg.startup', 'unexpected messages during startup');
  return got[0]!;
}

function upgrade(socket: Duplex, context: tls.SecureContextOptions, deadline?: AbortSignal): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: tls.createSecureContext(context),
    });
    const onDeadline = () => {
      reject(timedOut(deadline!));
      secure.destroy();
    };
    deadline?.addEventListener('abort', onDeadline, { once: true });
    secure.once('secure', () => {
      deadline?.removeEventListener('abort', onDeadline);
      resolve(secure);
    });
    secure.once('error', reject);
  });
}

function timedOut(deadline: AbortSignal): GatehouseError {
  const reason = deadline.reason instanceof Error ? deadline.reason.message : 'the login took too long';
  return new GatehouseError('pg.startup-timeout', `canceling authentication due to timeout: ${reason}`);
}
