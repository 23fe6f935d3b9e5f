import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { BodyTap, BodyTooLarge, TapStream } from './body-tap.ts';
import type { ClientStream } from './client-server.ts';
import { targetQuery } from './credential.ts';
import { targetRequestHeaders } from './header-hygiene.ts';
import type {
  DerivedAction,
  ExchangeOutcome,
  HttpProxyHooks,
  ProxiedRequest,
  ProxyConnection,
  ProxyHold,
  ProxyVerdict,
} from './proxy-types.ts';
import type { HttpRefusal } from './refusal.ts';
import { intakeRequest } from './request-intake.ts';
import { sendRefusal, verdictRefusal } from './respond.ts';
import { relayResponse, type RelayResult } from './response-relay.ts';
import { upstreamPath } from './upstream.ts';

/** How the proxy asks the enforcement core about a request, and tells it how the exchange went. */
export interface ProxyEnforcer<A, C> {
  enforce(client: C, derived: DerivedAction<A>, hold: ProxyHold): ProxyVerdict | Promise<ProxyVerdict>;
  recordOutcome(client: C, derived: DerivedAction<A>, outcome: ExchangeOutcome): void;
}

/** What one exchange runs with. */
export interface ExchangeDeps<A, C> {
  connection: ProxyConnection;
  hooks: HttpProxyHooks<A, C>;
  enforcer: ProxyEnforcer<A, C>;
  log(message: string): void;
}

/**
 * One request, start to end, like a script: check → gather → decide (maybe held for approval) →
 * forward with the connection's credential → relay the masked response → record how it went.
 */
export async function runExchange<A, C>(
  req: IncomingMessage,
  res: ServerResponse,
  stream: ClientStream<C>,
  deps: ExchangeDeps<A, C>,
): Promise<void> {
  const started = performance.now();
  const body = stream.deadlines.headReceived();
  const render = deps.hooks.refusalBody;
  let intake;
  try {
    intake = await intakeRequest(req, deps.connection.limits, false);
  } catch {
    return void res.destroy();
  } finally {
    body.bodyDone();
  }
  if (!intake.ok) return sendRefusal(res, intake.refusal, { close: true, render });
  const request = intake.value;
  const derived = deps.hooks.deriveAction(request, stream.client);
  if (!derived.ok) return sendRefusal(res, derived.refusal, { close: true, render });
  const hold = holdOn(res);
  const verdict = await deps.enforcer.enforce(stream.client, derived.value, hold.control);
  hold.done();
  if (res.destroyed) return;
  if (!verdict.allowed) {
    const { rule } = verdict.decision;
    return sendRefusal(res, verdictRefusal(verdict), { close: !req.complete, rule, hint: verdict.hint, render });
  }
  const outcome = await forward(req, res, request, deps);
  deps.enforcer.recordOutcome(stream.client, derived.value, { ...outcome, durationMs: performance.now() - started });
}

/**
 * The hold control of one request: its abort signal exists only once the core asks for it (a
 * review), so the common allowed request costs no AbortController.
 */
export function holdOn(client: {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}): {
  control: ProxyHold;
  done(): void;
} {
  let controller: AbortController | undefined;
  const onClose = () => controller?.abort();
  return {
    control: {
      get signal() {
        if (!controller) {
          controller = new AbortController();
          client.once('close', onClose);
        }
        return controller.signal;
      },
    },
    done: () => void client.off('close', onClose),
  };
}

async function forward<A, C>(
  req: IncomingMessage,
  res: ServerResponse,
  request: ProxiedRequest,
  deps: ExchangeDeps<A, C>,
): Promise<Omit<ExchangeOutcome, 'durationMs'>> {
  const { upstream, limits } = deps.connection;
  const requestTap = new BodyTap(limits.sampleBytes);
  const target = openUpstream(request, deps);
  const answer = awaitResponse(target, upstream.responseTimeoutMs);
  // Settles to the body's failure (or undefined): observed at once, so a client that breaks its own body is no unhandled rejection.
  const sent: Promise<unknown> = sendBody(req, target, request, requestTap, limits.maxBodyBytes).then(
    () => undefined,
    (error: unknown) => error,
  );
  const reply = await answer;
  const requestSummary = () => {
    const { bytes, sha256, sample } = requestTap.summary();
    return { bytes, sha256, sample };
  };
  if ('refusal' in reply) {
    target.destroy();
    const failure = await sent;
    const refusal: HttpRefusal =
      failure instanceof BodyTooLarge
        ? { status: 413, code: 'http.body-too-large', message: failure.message }
        : reply.refusal;
    sendRefusal(res, refusal, { close: true, render: deps.hooks.refusalBody });
    return { status: refusal.status, request: requestSummary(), error: refusal.message };
  }
  const relayed: RelayResult = await relayResponse(reply.response, res, request, deps.connection, deps.hooks);
  if (relayed.refusal) sendRefusal(res, relayed.refusal, { close: false, render: deps.hooks.refusalBody });
  await sent;
  return {
    status: relayed.status,
    request: requestSummary(),
    response: relayed.body,
    masked: relayed.masked,
    error: relayed.refusal?.message ?? relayed.error,
  };
}

function openUpstream<A, C>(request: ProxiedRequest, deps: ExchangeDeps<A, C>): ClientRequest {
  const { upstream } = deps.connection;
  const { head, target } = request;
  const hygienic = targetRequestHeaders(request.rawHeaders, {
    host: upstream.host,
    credential: upstream.credential,
    contentLength: head.body === 'chunked' ? undefined : head.contentLength,
    drop: deps.hooks.dropRequestHeader,
  });
  const headers = deps.hooks.rewriteRequestHeaders?.(hygienic, request) ?? hygienic;
  return upstream.request({
    protocol: upstream.base.protocol,
    hostname: upstream.base.hostname.replace(/^\[|\]$/g, ''),
    port: upstream.base.port || undefined,
    method: request.method,
    path: upstreamPath(upstream, target.path, targetQuery(target.rawQuery, target.query, upstream.credential)),
    headers: headers.flat(),
    setHost: false,
    agent: upstream.agent,
  });
}

type Reply = { response: IncomingMessage } | { refusal: HttpRefusal };

/** The target's answer, or a 502/504 when it cannot be reached or does not answer in time. */
function awaitResponse(target: ClientRequest, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({
          refusal: {
            status: 504,
            code: 'http.target-timeout',
            message: `the target did not answer within ${timeoutMs} ms`,
          },
        }),
      timeoutMs,
    );
    timer.unref();
    target.once('response', (response) => {
      clearTimeout(timer);
      resolve({ response });
    });
    target.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.code ?? 'error';
      resolve({
        refusal: {
          status: 502,
          code: 'http.target-unreachable',
          message: `the gateway could not reach the target (${why})`,
        },
      });
    });
  });
}

/** Sends what was gathered, then the rest of the client body through the tap (which enforces the limit). */
async function sendBody(
  req: IncomingMessage,
  target: ClientRequest,
  request: ProxiedRequest,
  tap: BodyTap,
  maxBytes: number,
): Promise<void> {
  if (request.head.body === 'none') return void target.end();
  if (request.gathered) {
    tap.observe(request.gathered.bytes);
    if (!request.gathered.truncated) return void target.end(request.gathered.bytes);
    target.write(request.gathered.bytes);
  }
  try {
    await pipeline(req, new TapStream(tap, maxBytes), target);
  } catch (error) {
    target.destroy();
    throw error;
  }
}
