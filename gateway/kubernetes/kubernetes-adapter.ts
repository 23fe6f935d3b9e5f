import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { KubernetesConnectionConfig } from '../config/config-types.ts';
import type { AdapterDeps, AdapterFactory, ProtocolAdapter, StreamOrigin } from '../enforcement/adapter-contract.ts';
import { withCredentialMasked } from '../http-adapter/credential-masker.ts';
import type { ProxyEnforcer } from '../http-adapter/exchange.ts';
import { httpResponseEvent } from '../http-adapter/http-action.ts';
import { coalesceWrites } from '../http-adapter/http-adapter.ts';
import { compileHttpMasking, type HttpMaskingSection } from '../http-adapter/http-masking.ts';
import { createHttpProxy, type HttpProxy } from '../http-adapter/http-proxy.ts';
import type { TextMasker } from '../http-adapter/json-masker.ts';
import { DEFAULT_HTTP_LIMITS } from '../http-adapter/proxy-types.ts';
import { createUpstreamTarget, type UpstreamTarget } from '../http-adapter/upstream.ts';
import type { K8sRequestAction } from '../policy/actions-and-decisions.ts';
import { createKubeHooks, type KubeClient } from './kube-hooks.ts';
import { resolveKubeTarget, type KubeTargetSources } from './kube-target.ts';
import { kubernetesConnectionType } from './kubernetes-connection.ts';

const TYPE = kubernetesConnectionType.type;

/** The API server may hold a watch open for as long as the client wants; its head comes at once. */
const RESPONSE_TIMEOUT_MS = 300_000;

/** The machine as the adapter reads it for in-cluster credentials. */
export const MACHINE_SOURCES: KubeTargetSources = {
  readFile: (path) => readFileSync(path, 'utf8'),
  env: process.env,
  now: () => Date.now(),
};

/**
 * The `type: kubernetes` adapter: reached through the tunnel only (the local proxy checked its
 * local password), one HTTP proxy per connection with the Kubernetes hooks, every request a
 * `k8s.request` action decided by `when.k8s`, relayed with the gateway's own credential.
 */
export const kubernetesAdapterFactory = (
  masking: readonly HttpMaskingSection[],
  sources: KubeTargetSources = MACHINE_SOURCES,
): AdapterFactory => ({
  type: TYPE,
  configSchema: kubernetesConnectionType.schema,
  create: (deps) => createKubernetesAdapter(deps, masking, sources),
});

export function createKubernetesAdapter(
  deps: AdapterDeps,
  masking: readonly HttpMaskingSection[],
  sources: KubeTargetSources,
): ProtocolAdapter {
  const proxies = new Map<string, { proxy: HttpProxy<KubeClient>; upstream: UpstreamTarget }>();
  for (const config of Object.values(deps.config.connections))
    if (config.type === TYPE) proxies.set(config.name, buildProxy(config, deps, masking, sources));
  return {
    type: TYPE,
    configSchema: kubernetesConnectionType.schema,
    accept(stream: Duplex, origin: StreamOrigin) {
      const entry = origin.connection !== undefined ? proxies.get(origin.connection) : undefined;
      const session = origin.session;
      if (!entry || !session) return void stream.destroy();
      const config = deps.config.connections[origin.connection!] as KubernetesConnectionConfig;
      const client: KubeClient = {
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
  config: KubernetesConnectionConfig,
  deps: AdapterDeps,
  masking: readonly HttpMaskingSection[],
  sources: KubeTargetSources,
): { proxy: HttpProxy<KubeClient>; upstream: UpstreamTarget } {
  const target = resolveKubeTarget(config, sources);
  const { credential } = target;
  const secret = credential.kind === 'bearer' ? credential.token() : credential.key;
  const detectors = withCredentialMasked(deps.contentMasker(config.name), { type: 'bearer', token: secret });
  const upstream = createUpstreamTarget({
    url: target.url.href,
    credential: { type: 'none' },
    tls: {
      verify: true,
      ...(target.ca ? { ca: target.ca } : {}),
      ...(credential.kind === 'client-certificate' ? { cert: credential.cert, key: credential.key } : {}),
    },
    responseTimeoutMs: RESPONSE_TIMEOUT_MS,
  });
  const hooks = createKubeHooks({
    connection: config.name,
    credential,
    detectors,
    now: () => deps.clock.now().getTime(),
  });
  const proxy = createHttpProxy({
    connection: {
      upstream,
      masking: compileHttpMasking(masking, config.name, detectors),
      limits: DEFAULT_HTTP_LIMITS,
    },
    hooks,
    enforcer: kubeEnforcer(deps, detectors),
    log: deps.log,
  });
  return { proxy, upstream };
}

/** The enforcement core as the proxy asks it: the request's `k8s.request` event before it is relayed, its outcome after. */
function kubeEnforcer(deps: AdapterDeps, detectors: TextMasker): ProxyEnforcer<K8sRequestAction, KubeClient> {
  return {
    enforce: (client, derived, hold) =>
      deps.enforcer.enforce(client.context, derived.action, {
        text: derived.text,
        shown: () => derived.shown,
        event: () => ({ type: 'k8s.request', data: derived.event }),
        hold: {
          get signal() {
            return hold.signal;
          },
          pending: (approval) => deps.log(`kubernetes: ${derived.shown} held for approval ${approval.id}`),
        },
      }),
    recordOutcome: (client, derived, outcome) => {
      void deps.enforcer.record(client.context, 'http.response', httpResponseEvent(derived, outcome, detectors));
    },
  };
}
