import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpConnectionConfig } from '../config/config-types.ts';
import type { AdapterDeps, AdapterFactory, ProtocolAdapter, StreamOrigin } from '../enforcement/adapter-contract.ts';
import type { EnforcementContext } from '../enforcement/enforcer.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { HttpRequestAction } from '../policy/actions-and-decisions.ts';
import type { ProxyEnforcer } from './exchange.ts';
import { withCredentialMasked } from './credential-masker.ts';
import { deriveHttpAction, httpResponseEvent } from './http-action.ts';
import { httpConnectionType } from './http-connection.ts';
import { compileHttpMasking, type HttpMaskingSection } from './http-masking.ts';
import { createHttpProxy, type HttpProxy } from './http-proxy.ts';
import type { TextMasker } from './json-masker.ts';
import { DEFAULT_HTTP_LIMITS, type HttpProxyHooks } from './proxy-types.ts';
import { createUpstreamTarget, type UpstreamTarget } from './upstream.ts';

const TYPE = httpConnectionType.type;

/** One client stream of an HTTP connection: whose it is and how the core sees it. */
export interface HttpClient {
  session: SessionContext;
  context: EnforcementContext;
}

/**
 * The `type: http` adapter: reached only through the tunnel (the local proxy checked its local
 * password), one strict HTTP proxy per connection, every request an `http.request` action.
 */
export const httpAdapterFactory = (masking: readonly HttpMaskingSection[]): AdapterFactory => ({
  type: TYPE,
  configSchema: httpConnectionType.schema,
  create: (deps) => createHttpAdapter(deps, masking),
});

export function createHttpAdapter(deps: AdapterDeps, masking: readonly HttpMaskingSection[]): ProtocolAdapter {
  const proxies = new Map<string, { proxy: HttpProxy<HttpClient>; upstream: UpstreamTarget }>();
  for (const config of Object.values(deps.config.connections)) {
    if (config.type !== TYPE) continue;
    if (!config.tls.verify)
      deps.log(`http: connection ${config.name} does not verify its target's certificate (tls.verify: false)`);
    proxies.set(config.name, buildProxy(config, deps, masking));
  }
  return {
    type: TYPE,
    configSchema: httpConnectionType.schema,
    accept(stream: Duplex, origin: StreamOrigin) {
      const entry = origin.connection !== undefined ? proxies.get(origin.connection) : undefined;
      const session = origin.session;
      if (!entry || !session) return void stream.destroy();
      const config = deps.config.connections[origin.connection!] as HttpConnectionConfig;
      const client: HttpClient = {
        session,
        context: { session, connection: { name: config.name, audit: config.audit }, protocol: TYPE },
      };
      coalesceWrites(stream);
      const release = deps.sessions.live.add(session, TYPE, () => stream.destroy());
      stream.once('close', release);
      entry.proxy.accept(stream, client);
    },
    endSession: (sessionId, reason) => deps.sessions.live.end(sessionId, reason, TYPE),
    async close() {
      deps.sessions.live.endAll('gateway-restart', TYPE);
      for (const { proxy, upstream } of proxies.values()) {
        proxy.close();
        upstream.agent.destroy();
      }
    },
  };
}

function buildProxy(
  config: HttpConnectionConfig,
  deps: AdapterDeps,
  masking: readonly HttpMaskingSection[],
): { proxy: HttpProxy<HttpClient>; upstream: UpstreamTarget } {
  const detectors = withCredentialMasked(deps.contentMasker(config.name), config.credential);
  const upstream = createUpstreamTarget({
    url: config.url,
    credential: config.credential,
    tls: config.tls,
    responseTimeoutMs: config.responseTimeoutMs,
  });
  const hooks: HttpProxyHooks<HttpRequestAction, HttpClient> = {
    deriveAction: (request, client) => ({
      ok: true,
      value: deriveHttpAction(request, config.name, client.session.identity, detectors),
    }),
  };
  const proxy = createHttpProxy({
    connection: {
      upstream,
      masking: compileHttpMasking(masking, config.name, detectors),
      limits: { ...DEFAULT_HTTP_LIMITS, maxBodyBytes: config.maxBodyBytes },
    },
    hooks,
    enforcer: httpEnforcer(deps, detectors),
    log: deps.log,
  });
  return { proxy, upstream };
}

/** The enforcement core as the proxy asks it: the request's event before it is forwarded, its outcome after. */
function httpEnforcer(deps: AdapterDeps, detectors: TextMasker): ProxyEnforcer<HttpRequestAction, HttpClient> {
  return {
    enforce: (client, derived, hold) =>
      deps.enforcer.enforce(client.context, derived.action, {
        text: derived.text,
        shown: () => derived.shown,
        event: () => ({ type: 'http.request', data: derived.event }),
        hold: {
          get signal() {
            return hold.signal;
          },
          pending: (approval) =>
            deps.log(`http: ${derived.action.method} ${derived.action.path} held for approval ${approval.id}`),
        },
      }),
    recordOutcome: (client, derived, outcome) => {
      void deps.enforcer.record(client.context, 'http.response', httpResponseEvent(derived, outcome, detectors));
    },
  };
}

/**
 * Node's HTTP server corks its stream and writes a response head and body as separate chunks; a
 * tunnel stream without `_writev` would send each as its own WebSocket message (and TCP write, and
 * local proxy write). With `_writev` the corked chunks of one response leave as one message.
 */
export function coalesceWrites(stream: Duplex): void {
  const writable = stream as Duplex & { _writev?: unknown };
  if (writable._writev || stream instanceof Socket) return;
  writable._writev = (chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void) =>
    stream._write(
      chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)),
      'binary',
      callback,
    );
}
