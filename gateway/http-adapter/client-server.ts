import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ClientDeadlines, type DeadlineSettings } from './client-deadlines.ts';
import { parseErrorRefusal, type ParseError } from './parse-errors.ts';
import { rawRefusal, type HttpRefusal } from './refusal.ts';

/** One client stream as the handlers see it: who it belongs to and its slow-client deadlines. */
export interface ClientStream<C> {
  client: C;
  stream: Duplex;
  deadlines: ClientDeadlines;
  /** The response being written, if any (a deadline then cuts it instead of answering 408). */
  current: ServerResponse | undefined;
}

/** What the server hands each parsed request and upgrade to. */
export interface ClientHandlers<C> {
  request(req: IncomingMessage, res: ServerResponse, stream: ClientStream<C>): void;
  /** A `websocket` upgrade (other upgrades are refused before this). The stream is the handler's from here. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, stream: ClientStream<C>): void;
  /** What an upgrade other than WebSocket is answered with (it is never relayed); default: a 501. */
  otherUpgrade?(target: string, client: C): { refusal: HttpRefusal; body: { contentType: string; body: string } };
}

/** The parser settings that matter for safety, in one place. */
export interface ClientServerSettings {
  maxHeaderBytes: number;
  deadlines: DeadlineSettings;
}

/** Reads HTTP/1.1 from client streams that arrive by tunnel; `accept` hands one over. */
export interface ClientServer<C> {
  accept(stream: Duplex, client: C): ClientStream<C>;
  close(): void;
}

const UPGRADE_REFUSED: HttpRefusal = {
  status: 501,
  code: 'http.upgrade',
  message: 'only WebSocket upgrades are relayed (h2c and other protocols cannot be analysed); send plain HTTP/1.1',
};
const CONNECT_REFUSED: HttpRefusal = {
  status: 405,
  code: 'http.connect',
  message: 'CONNECT tunnels cannot be analysed and are refused; send plain requests',
};

/**
 * Node's own HTTP/1.1 server (llhttp, strict: `insecureHTTPParser` off) reading client streams it
 * never listens for: llhttp refuses smuggling (duplicate or conflicting Content-Length, Transfer-Encoding
 * with Content-Length, obfuscated Transfer-Encoding), obs-fold, bad chunks, bare CR/LF and oversized
 * heads; what it refuses, and CONNECT, HTTP/2 prior knowledge and non-WebSocket upgrades, is
 * answered here with a JSON error and the stream closed. Other streams are untouched.
 */
export function createClientServer<C>(handlers: ClientHandlers<C>, settings: ClientServerSettings): ClientServer<C> {
  const server = http.createServer({
    insecureHTTPParser: false,
    maxHeaderSize: settings.maxHeaderBytes,
    requireHostHeader: false,
    joinDuplicateHeaders: false,
  });
  server.maxHeadersCount = 256;
  server.keepAliveTimeout = settings.deadlines.idleMs;
  const streams = new WeakMap<Duplex, ClientStream<C>>();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = streams.get(req.socket);
    if (!state) return void req.socket.destroy();
    state.current = res;
    res.once('finish', () => {
      if (state.current === res) state.current = undefined;
      state.deadlines.responseDone();
    });
    handlers.request(req, res, state);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const state = streams.get(socket);
    if (!state) return void socket.destroy();
    state.deadlines.stop();
    if ((req.headers.upgrade ?? '').trim().toLowerCase() !== 'websocket') {
      const answer = handlers.otherUpgrade?.(req.url ?? '/', state.client);
      return endWith(socket, answer?.refusal ?? UPGRADE_REFUSED, answer?.body);
    }
    handlers.upgrade(req, socket, head, state);
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => endWith(socket, CONNECT_REFUSED));
  server.on('clientError', (error: ParseError & Error, socket: Duplex) => {
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') return void socket.destroy();
    endWith(socket, parseErrorRefusal(error));
  });

  return {
    accept(stream, client) {
      const deadlines = new ClientDeadlines(settings.deadlines, (code) => expire(state, code));
      const state: ClientStream<C> = { client, stream, deadlines, current: undefined };
      streams.set(stream, state);
      stream.once('close', () => deadlines.stop());
      stream.on('error', () => stream.destroy());
      server.emit('connection', stream);
      return state;
    },
    close() {
      server.close();
    },
  };
}

function expire<C>(state: ClientStream<C>, code: string): void {
  state.deadlines.stop();
  const res = state.current;
  if (res && res.headersSent) return void state.stream.destroy();
  endWith(state.stream, parseErrorRefusal({ code }));
}

/** Answers on a raw stream and closes it: its framing can no longer be trusted. */
export function endWith(socket: Duplex, refusal: HttpRefusal, body?: { contentType: string; body: string }): void {
  if (!socket.writable) return void socket.destroy();
  socket.once('finish', () => socket.destroy());
  socket.end(rawRefusal(refusal, {}, body));
}
