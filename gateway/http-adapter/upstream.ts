import http from 'node:http';
import https from 'node:https';
import { placeCredential, type CredentialPlacement, type HttpCredential } from './credential.ts';

/** TLS to the target: the CA that signs it, the client certificate it wants, and whether to verify at all. */
export interface TargetTls {
  /** PEM of the CA(s) that sign the target's certificate; the system store is used when absent. */
  ca?: string;
  /** PEM client certificate and key, for targets that authenticate the gateway by mTLS. */
  cert?: string;
  key?: string;
  /** False only for a test target; the config warns about it. */
  verify: boolean;
  /** Name to verify the certificate against, when it differs from the URL's host. */
  servername?: string;
}

/** Where and how a connection's requests go, built once per connection. */
export interface UpstreamTarget {
  /** The connection's `url`: origin plus a base path every request path is appended to. */
  base: URL;
  /** The `Host` header sent (the URL's host, with port when not the default). */
  host: string;
  credential: CredentialPlacement;
  agent: http.Agent;
  /** `request` of node:http or node:https, matching the URL's scheme. */
  request: typeof http.request;
  /** How long the target may take to start its answer. */
  responseTimeoutMs: number;
}

export interface UpstreamSettings {
  url: string;
  credential: HttpCredential;
  tls?: TargetTls;
  responseTimeoutMs?: number;
  /** Sockets kept open to the target (keep-alive), shared by every session of the connection. */
  maxSockets?: number;
}

export const DEFAULT_RESPONSE_TIMEOUT_MS = 300_000;

/**
 * The upstream side of a connection: one keep-alive agent (TLS options applied) shared by all
 * sessions, so requests of different jobs reuse sockets to the target but never a client's.
 */
export function createUpstreamTarget(settings: UpstreamSettings): UpstreamTarget {
  const base = new URL(settings.url);
  const secure = base.protocol === 'https:';
  const common = { keepAlive: true, noDelay: true, maxSockets: settings.maxSockets ?? 64, scheduling: 'lifo' as const };
  const tls = settings.tls;
  const agent = secure
    ? new https.Agent({
        ...common,
        ca: tls?.ca,
        cert: tls?.cert,
        key: tls?.key,
        rejectUnauthorized: tls?.verify ?? true,
        servername: tls?.servername,
      })
    : new http.Agent(common);
  return {
    base,
    host: base.host,
    credential: placeCredential(settings.credential),
    agent,
    request: secure ? https.request : http.request,
    responseTimeoutMs: settings.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS,
  };
}

/** The path sent to the target: the base path, then the canonical request path, then the query. */
export function upstreamPath(target: UpstreamTarget, canonicalPath: string, query: string): string {
  const prefix = target.base.pathname.replace(/\/+$/, '');
  return `${prefix}${canonicalPath}${query ? `?${query}` : ''}`;
}
