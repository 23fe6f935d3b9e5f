import type { KubernetesConnectionConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';

/** Where the in-cluster service account is mounted in every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How long a read service-account token is reused; kubelet rotates projected tokens well before they expire. */
export const TOKEN_REREAD_MS = 60_000;

/** The credential the gateway presents; a bearer token is read through `token()` so a rotated file is picked up. */
export type KubeCredential =
  { kind: 'bearer'; token: () => string } | { kind: 'client-certificate'; cert: string; key: string };

/** The API server one connection talks to, resolved once when the adapter starts. */
export interface KubeTarget {
  url: URL;
  /** PEM CA bundle; undefined: the system CAs. */
  ca?: string;
  credential: KubeCredential;
}

/** What resolving reads from the machine, passed in so a test needs no pod. */
export interface KubeTargetSources {
  readFile(path: string): string;
  env: Record<string, string | undefined>;
  now(): number;
}

function inClusterUrl(env: KubeTargetSources['env'], name: string): URL {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new GatehouseError(
      'config.kubernetes-in-cluster',
      `connection '${name}': in_cluster needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (set in every pod); outside a cluster give url and a credential instead`,
    );
  return new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

function rereading(read: () => string, now: () => number): () => string {
  let cached: { token: string; at: number } | undefined;
  return () => {
    if (!cached || now() - cached.at >= TOKEN_REREAD_MS) cached = { token: read().trim(), at: now() };
    return cached.token;
  };
}

/**
 * The target of a `type: kubernetes` connection: its URL, CA and credential. In the cluster the
 * service account's token is re-read every minute (tokens rotate) and its ca.crt trusted unless
 * `ca` is set. Errors name the connection and the fix.
 */
export function resolveKubeTarget(config: KubernetesConnectionConfig, sources: KubeTargetSources): KubeTarget {
  const fail = (message: string): never => {
    throw new GatehouseError('config.kubernetes', `connection '${config.name}': ${message}`);
  };
  if (config.inCluster) {
    const read = (file: string): string => {
      try {
        return sources.readFile(`${SERVICE_ACCOUNT_DIR}/${file}`);
      } catch {
        return fail(`in_cluster, but ${SERVICE_ACCOUNT_DIR}/${file} cannot be read: is a service account mounted?`);
      }
    };
    const token = rereading(() => read('token'), sources.now);
    token();
    return {
      url: config.url ? new URL(config.url) : inClusterUrl(sources.env, config.name),
      ca: config.ca ?? read('ca.crt'),
      credential: { kind: 'bearer', token },
    };
  }
  if (!config.url) return fail('url is required unless in_cluster is true');
  const url = new URL(config.url);
  if (url.protocol !== 'https:') fail('url must be https://: the cluster credential never crosses in the clear');
  const credential: KubeCredential = config.token
    ? { kind: 'bearer', token: () => config.token! }
    : config.clientCertificate && config.clientKey
      ? { kind: 'client-certificate', cert: config.clientCertificate, key: config.clientKey }
      : fail('give token, or client_certificate with client_key, or in_cluster: true');
  return { url, ...(config.ca ? { ca: config.ca } : {}), credential };
}
