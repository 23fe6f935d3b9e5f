import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { BodyTap } from './body-tap.ts';
import type { ClientStream } from './client-server.ts';
import { targetQuery } from './credential.ts';
import { holdOn, type ExchangeDeps } from './exchange.ts';
import { targetRequestHeaders } from './header-hygiene.ts';
import type { TextMasker } from './json-masker.ts';
import type { ExchangeOutcome, ProxiedRequest } from './proxy-types.ts';
import { rawRefusal, type HttpRefusal } from './refusal.ts';
import { intakeRequest } from './request-intake.ts';
import { verdictRefusal } from './respond.ts';
import { upstreamPath } from './upstream.ts';

/** Largest WebSocket message relayed either way. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Sends waiting on one side before the other side is paused (backpressure across the relay). */
const MAX_PENDING_SENDS = 64;

/**
 * A WebSocket upgrade, decided like any request (an allow rule must list `upgrade: [websocket]`),
 * then relayed message by message: the target is connected first, so a refusal there reaches the
 * client as a status; the target's messages pass the content detectors (text, and binary read as
 * UTF-8 or Latin-1) before the client sees them. Compression is not negotiated, so every frame is readable.
 */
export async function relayWebSocket<A, C>(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  stream: ClientStream<C>,
  deps: ExchangeDeps<A, C>,
): Promise<void> {
  const started = performance.now();
  const intake = await intakeRequest(req, deps.connection.limits, true).catch(() => null);
  if (!intake) return void socket.destroy();
  const refuse = (refusal: HttpRefusal, rule?: string, hint?: string) => {
    if (intake.ok) deps.hooks.upgradeRefused?.(intake.value, stream.client, refusal, rule, hint);
    refuseUpgrade(socket, refusal, rule, hint, deps.hooks.refusalBody?.(refusal, rule, hint));
  };
  if (!intake.ok) return refuse(intake.refusal);
  const request = intake.value;
  const derived = deps.hooks.deriveAction(request, stream.client);
  if (!derived.ok) return refuse(derived.refusal);
  const hold = holdOn(socket);
  const verdict = await deps.enforcer.enforce(stream.client, derived.value, hold.control);
  hold.done();
  if (socket.destroyed) return;
  if (!verdict.allowed) return refuse(verdictRefusal(verdict), verdict.decision.rule, verdict.hint);
  const target = await connectTarget(request, deps);
  if ('refusal' in target) return refuse(target.refusal);
  const server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: () => target.ws.protocol || false,
  });
  server.handleUpgrade(req, socket, head, (client) => {
    const stats = relayMessages(client, target.ws, request, deps);
    client.once('close', () => {
      deps.enforcer.recordOutcome(stream.client, derived.value, {
        status: 101,
        durationMs: performance.now() - started,
        request: { bytes: 0, sha256: '', sample: '' },
        response: stats.tap.summary(),
        masked: { fields: 0, detected: stats.detected },
        websocket: stats.counts,
      });
      server.close();
    });
  });
}

function refuseUpgrade(
  socket: Duplex,
  refusal: HttpRefusal,
  rule?: string,
  hint?: string,
  rendered?: { contentType: string; body: string },
): void {
  if (!socket.writable) return void socket.destroy();
  socket.once('finish', () => socket.destroy());
  socket.end(rawRefusal(refusal, { ...(rule ? { rule } : {}), ...(hint ? { hint } : {}) }, rendered));
}

type Connected = { ws: WebSocket } | { refusal: HttpRefusal };

function connectTarget<A, C>(request: ProxiedRequest, deps: ExchangeDeps<A, C>): Promise<Connected> {
  const { upstream } = deps.connection;
  const headers: Record<string, string> = {};
  const pairs = targetRequestHeaders(request.rawHeaders, {
    host: upstream.host,
    credential: upstream.credential,
    drop: (name) => name.startsWith('sec-websocket-') || (deps.hooks.dropRequestHeader?.(name) ?? false),
  });
  for (const [name, value] of deps.hooks.rewriteRequestHeaders?.(pairs, request) ?? pairs) {
    const key = name.toLowerCase();
    if (key === 'accept-encoding') continue;
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  const url = new URL(
    upstreamPath(
      upstream,
      request.target.path,
      targetQuery(request.target.rawQuery, request.target.query, upstream.credential),
    ),
    upstream.base,
  );
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const protocols = (request.head.headers.get('sec-websocket-protocol') ?? [])
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, {
      headers,
      agent: upstream.agent,
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: upstream.responseTimeoutMs,
    });
    const refused = (status: number, why: string) =>
      resolve({
        refusal: { status, code: 'http.websocket-target', message: `the target refused the WebSocket (${why})` },
      });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, response) => {
      response.resume();
      refused(
        response.statusCode && response.statusCode >= 400 ? response.statusCode : 502,
        `HTTP ${response.statusCode}`,
      );
      ws.terminate();
    });
    ws.once('error', (error: NodeJS.ErrnoException) => refused(502, error.code ?? 'error'));
  });
}

interface RelayStats {
  counts: NonNullable<ExchangeOutcome['websocket']>;
  tap: BodyTap;
  detected: number;
}

function relayMessages<A, C>(
  client: WebSocket,
  target: WebSocket,
  request: ProxiedRequest,
  deps: ExchangeDeps<A, C>,
): RelayStats {
  const stats: RelayStats = {
    counts: { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
    tap: new BodyTap(deps.connection.limits.sampleBytes),
    detected: 0,
  };
  const detectors = deps.connection.masking.detectors;
  const toClient =
    deps.hooks.targetMessage ?? ((data: Buffer, isBinary: boolean) => maskMessage(data, isBinary, detectors, stats));
  pump(target, client, (data, isBinary) => {
    const out = toClient(data, isBinary, request);
    stats.counts.messagesOut++;
    stats.counts.bytesOut += out.length;
    stats.tap.observe(out);
    return out;
  });
  pump(client, target, (data, isBinary) => {
    stats.counts.messagesIn++;
    stats.counts.bytesIn += data.length;
    return deps.hooks.clientMessage?.(data, isBinary, request) ?? data;
  });
  const closeOther = (other: WebSocket) => (code: number, reason: Buffer) => {
    if (other.readyState === WebSocket.OPEN) other.close(sendableCode(code), reason.subarray(0, 123));
    else if (other.readyState === WebSocket.CONNECTING) other.terminate();
  };
  client.once('close', closeOther(target));
  target.once('close', closeOther(client));
  client.on('error', () => target.terminate());
  target.on('error', () => client.terminate());
  return stats;
}

/** Forwards messages from one side to the other, pausing the source while too many sends wait. */
function pump(from: WebSocket, to: WebSocket, transform: (data: Buffer, isBinary: boolean) => Buffer): void {
  let pending = 0;
  from.on('message', (raw: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    pending++;
    if (pending > MAX_PENDING_SENDS) from.pause();
    to.send(transform(data, isBinary), { binary: isBinary }, () => {
      pending--;
      if (pending <= MAX_PENDING_SENDS / 2 && from.isPaused) from.resume();
    });
  });
}

/** The content detectors over one whole message (a message is never split, so no window is needed). */
export function maskMessage(
  data: Buffer,
  isBinary: boolean,
  detectors: TextMasker,
  stats: { detected: number },
): Buffer {
  if (!detectors.active) return data;
  const encoding: BufferEncoding = !isBinary || isUtf8(data) ? 'utf8' : 'latin1';
  const masked = detectors.maskText(data.toString(encoding));
  if (masked.count === 0) return data;
  stats.detected += masked.count;
  return Buffer.from(masked.text, encoding);
}

/** Close codes a peer may send (1005, 1006 and 1015 are reserved for reporting only). */
function sendableCode(code: number): number {
  return (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999)
    ? code
    : 1000;
}
