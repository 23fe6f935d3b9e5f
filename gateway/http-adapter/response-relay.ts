import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { BodyTap, TapStream } from './body-tap.ts';
import { clientResponseHeaders } from './header-hygiene.ts';
import type { HttpProxyHooks, ProxiedRequest, ProxyConnection, ResponseBodyHandling } from './proxy-types.ts';
import type { HttpRefusal } from './refusal.ts';
import { maskingStreams, maskWholeBody, planResponseBody, type ResponseSummary } from './response-plan.ts';

/** How the response reached the client (or why it did not), for the exchange's audit event. */
export interface RelayResult {
  status: number;
  body?: ReturnType<BodyTap['summary']>;
  masked?: { fields: number; detected: number };
  /** The gateway answered instead of the target (an unmaskable body). */
  refusal?: HttpRefusal;
  error?: string;
}

interface Streams {
  streams: Transform[];
  tally(): { fields: number; detected: number };
}

/**
 * Sends a target response to the client: the body plan is chosen from the head before any byte
 * goes out, headers are filtered and masked, the body runs through its decoder and masker and a
 * tap that hashes and samples what the client gets. A masker failure mid-body cuts the response.
 */
export async function relayResponse<A, C>(
  upstream: IncomingMessage,
  res: ServerResponse,
  request: ProxiedRequest,
  connection: ProxyConnection,
  hooks: HttpProxyHooks<A, C>,
): Promise<RelayResult> {
  const status = upstream.statusCode ?? 502;
  const route = await chooseRoute(upstream, request, connection, hooks);
  if (route.kind === 'refuse') {
    upstream.destroy();
    return { status: route.refusal.status, refusal: route.refusal };
  }
  const filtered = clientResponseHeaders(upstream.rawHeaders, {
    bodyRewritten: route.kind === 'stream' || route.kind === 'whole',
    targetBase: connection.upstream.base,
    detectors: connection.masking.detectors,
  });
  const tap = new BodyTap(connection.limits.sampleBytes);
  const masked = () => {
    const tally = route.kind === 'stream' ? route.streams.tally() : route.kind === 'whole' ? route.tally : undefined;
    return { fields: tally?.fields ?? 0, detected: (tally?.detected ?? 0) + filtered.detected };
  };
  if (route.kind === 'whole') {
    tap.observe(route.body);
    res.writeHead(status, [...filtered.headers.flat(), 'content-length', String(route.body.length)]);
    await new Promise<void>((resolve) => res.end(route.body, resolve));
    return { status, body: tap.summary(), masked: masked() };
  }
  res.writeHead(status, filtered.headers.flat());
  try {
    if (route.kind === 'empty') await new Promise<void>((resolve) => res.end(resolve));
    else if (route.kind === 'stream')
      await pipeline([upstream, ...route.streams.streams, new TapStream(tap), res] as unknown as [
        IncomingMessage,
        ServerResponse,
      ]);
    else await passBody(upstream, res, tap);
    return { status, body: tap.summary(), masked: masked() };
  } catch (error) {
    res.destroy();
    return { status, body: tap.summary(), masked: masked(), error: (error as Error).message };
  }
}

/** A body announced at most this long is read whole and masked before the head goes out. */
const WHOLE_BODY_BYTES = 64 * 1024;

type Route =
  | { kind: 'refuse'; refusal: HttpRefusal }
  | { kind: 'empty' }
  | { kind: 'pass' }
  | { kind: 'whole'; body: Buffer; tally: { fields: number; detected: number } }
  | { kind: 'stream'; streams: Streams };

/**
 * How the body goes: chosen from the head (and, for small masked bodies, the whole body) before
 * the head is sent, so a body the gateway cannot mask is still answered with a 502.
 */
async function chooseRoute<A, C>(
  upstream: IncomingMessage,
  request: ProxiedRequest,
  connection: ProxyConnection,
  hooks: HttpProxyHooks<A, C>,
): Promise<Route> {
  const summary: ResponseSummary = {
    method: request.method,
    status: upstream.statusCode ?? 502,
    contentType: upstream.headers['content-type'],
    contentEncoding: upstream.headers['content-encoding'],
    contentLength: upstream.headers['content-length'],
  };
  const handling: ResponseBodyHandling = hooks.responseBody?.(summary, request, connection.masking) ?? {
    kind: 'plan',
    plan: planResponseBody(summary, connection.masking),
  };
  if (handling.kind === 'streams') return { kind: 'stream', streams: handling };
  const plan = handling.plan;
  if (plan.kind === 'refuse') return plan;
  if (plan.kind === 'empty-or-refuse')
    return (await isEmpty(upstream)) ? { kind: 'empty' } : { kind: 'refuse', refusal: plan.refusal };
  if (plan.kind !== 'mask') return { kind: plan.kind };
  const length = Number(summary.contentLength ?? NaN);
  if (!(length <= WHOLE_BODY_BYTES)) return { kind: 'stream', streams: maskingStreams(plan, connection.masking) };
  try {
    return { kind: 'whole', ...maskWholeBody(plan, connection.masking, await readWhole(upstream)) };
  } catch (error) {
    return {
      kind: 'refuse',
      refusal: {
        status: 502,
        code: 'http.response-unmaskable',
        message: `the target's body could not be masked: ${(error as Error).message}`,
      },
    };
  }
}

function readWhole(upstream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    upstream.on('data', (chunk: Buffer) => chunks.push(chunk));
    upstream.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    upstream.once('error', reject);
    upstream.once('aborted', () => reject(new Error('the target cut the response')));
  });
}

/**
 * A body sent as it came, observed by the tap on the way: written in the same tick it arrives, so
 * a small response leaves in one write with its head (a Transform in between costs a second one).
 */
function passBody(upstream: IncomingMessage, res: ServerResponse, tap: BodyTap): Promise<void> {
  return new Promise((resolve, reject) => {
    upstream.on('data', (chunk: Buffer) => {
      tap.observe(chunk);
      if (!res.write(chunk)) upstream.pause();
    });
    res.on('drain', () => upstream.resume());
    upstream.once('end', () => res.end(() => resolve()));
    upstream.once('error', (error) => reject(error));
    upstream.once('aborted', () => reject(new Error('the target cut the response')));
    res.once('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        reject(new Error('the client went away'));
      }
    });
  });
}

/** Waits for the first body byte or the end: true when the body is empty. */
function isEmpty(upstream: IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    const onReadable = () => {
      const chunk = upstream.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      upstream.unshift(chunk);
      resolve(false);
    };
    const onEnd = () => {
      cleanup();
      resolve(true);
    };
    const cleanup = () => {
      upstream.off('readable', onReadable);
      upstream.off('end', onEnd);
      upstream.off('error', onEnd);
    };
    upstream.on('readable', onReadable);
    upstream.once('end', onEnd);
    upstream.once('error', onEnd);
  });
}
