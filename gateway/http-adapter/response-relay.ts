import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { BodyTap } from './body-tap.ts';
import { clientResponseHeaders } from './header-hygiene.ts';
import type { HttpProxyHooks, ProxiedRequest, ProxyConnection, ResponseBodyHandling } from './proxy-types.ts';
import type { HttpRefusal } from './refusal.ts';
import { maskingStreams, planResponseBody, type ResponseSummary } from './response-plan.ts';

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
  const summary: ResponseSummary = {
    method: request.method,
    status,
    contentType: upstream.headers['content-type'],
    contentEncoding: upstream.headers['content-encoding'],
    contentLength: upstream.headers['content-length'],
  };
  const handling: ResponseBodyHandling = hooks.responseBody?.(summary, request, connection.masking) ?? {
    kind: 'plan',
    plan: planResponseBody(summary, connection.masking),
  };
  let streams: Streams | undefined;
  let empty = false;
  if (handling.kind === 'streams') streams = handling;
  else {
    const plan = handling.plan;
    if (plan.kind === 'refuse') return refuseBody(upstream, plan.refusal);
    if (plan.kind === 'empty-or-refuse') {
      if (!(await isEmpty(upstream))) return refuseBody(upstream, plan.refusal);
      empty = true;
    }
    if (plan.kind === 'mask') streams = maskingStreams(plan, connection.masking);
  }
  const filtered = clientResponseHeaders(upstream.rawHeaders, {
    bodyRewritten: streams !== undefined,
    targetBase: connection.upstream.base,
    detectors: connection.masking.detectors,
  });
  res.writeHead(status, filtered.headers.flat());
  const tap = new BodyTap(connection.limits.sampleBytes);
  const masked = () => {
    const tally = streams?.tally() ?? { fields: 0, detected: 0 };
    return { fields: tally.fields, detected: tally.detected + filtered.detected };
  };
  try {
    if (empty) await new Promise<void>((resolve) => res.end(resolve));
    else if (streams)
      await pipeline([upstream, ...streams.streams, tap, res] as unknown as [IncomingMessage, ServerResponse]);
    else await passBody(upstream, res, tap);
    return { status, body: tap.summary(), masked: masked() };
  } catch (error) {
    res.destroy();
    return { status, body: tap.summary(), masked: masked(), error: (error as Error).message };
  }
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

function refuseBody(upstream: IncomingMessage, refusal: HttpRefusal): RelayResult {
  upstream.destroy();
  return { status: refusal.status, refusal };
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
