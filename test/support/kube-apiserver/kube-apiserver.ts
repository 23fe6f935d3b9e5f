import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { failure } from './api-status.ts';
import { nonResource, resource } from './api-router.ts';
import { observeGeneration, seedNamespaces } from './cluster-behaviour.ts';
import { acceptExec } from './exec-upgrade.ts';
import { ObjectStore } from './object-store.ts';
import { buildOpenApiV3 } from './openapi-v3.ts';
import type { ExecRecord } from './pod-exec.ts';
import { PodLogs } from './pod-logs.ts';
import { checkServed, statusReply, type Cluster, type Reply } from './request-context.ts';
import { generateTlsMaterial, type TlsMaterial } from './tls-material.ts';

/** Who a request authenticated as: the credential the stand-in saw, so tests can prove which one reached it. */
export type Credential = { kind: 'bearer'; token: string } | { kind: 'client-cert'; name: string } | { kind: 'none' };

/** One request as it reached the stand-in. */
export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  /** Every header as received (lower-case names): the proof no client Authorization or Impersonate-* got through. */
  headers: http.IncomingHttpHeaders;
  credential: Credential;
  status: number;
  /** True for a WebSocket or SPDY upgrade. */
  upgrade: boolean;
  at: number;
}

export interface KubeApiServerOptions {
  /** Bearer tokens the stand-in accepts (default: one random token, `server.token`). */
  tokens?: string[];
  /** Kubernetes minor version `/version` reports (default 31). */
  minor?: number;
  graceMs?: number;
}

/** A Kubernetes API server stand-in on 127.0.0.1 over TLS, for kubectl and the gateway. */
export interface KubeApiServer {
  url: string;
  tls: TlsMaterial;
  /** A bearer token it accepts. */
  token: string;
  cluster: Cluster;
  requests: RequestRecord[];
  execs: ExecRecord[];
  close(): Promise<void>;
}

function credentialOf(req: http.IncomingMessage, tokens: ReadonlySet<string>): Credential | null {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    return match && tokens.has(match[1]!) ? { kind: 'bearer', token: match[1]! } : null;
  }
  const socket = req.socket as TLSSocket;
  if (socket.authorized) {
    const cn = socket.getPeerCertificate()?.subject?.CN;
    if (cn) return { kind: 'client-cert', name: Array.isArray(cn) ? cn[0]! : cn };
  }
  return null;
}

function send(cluster: Cluster, res: http.ServerResponse, where: string, reply: Reply): void {
  checkServed(cluster, where, reply.body);
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.code, {
    'content-type': reply.contentType ?? 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache, private',
  });
  res.end(text);
}

function serve(
  cluster: Cluster,
  context: { tokens: ReadonlySet<string>; openapi: ReturnType<typeof buildOpenApiV3>; address: () => string },
  requests: RequestRecord[],
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
): void {
  const url = new URL(req.url ?? '/', 'https://kubernetes');
  const credential = credentialOf(req, context.tokens);
  const record: RequestRecord = {
    method: req.method ?? '',
    path: url.pathname,
    query: url.search,
    headers: req.headers,
    credential: credential ?? { kind: 'none' },
    status: 0,
    upgrade: false,
    at: Date.now(),
  };
  requests.push(record);
  res.on('finish', () => (record.status = res.statusCode));
  res.on('close', () => (record.status ||= res.statusCode));
  const where = `${req.method} ${url.pathname}`;
  if (!credential) return send(cluster, res, where, statusReply(failure(401, 'Unauthorized', 'Unauthorized').status));
  const reply =
    nonResource(cluster, context.openapi, req, url, context.address()) ?? resource(cluster, req, url, body, res);
  if (reply) send(cluster, res, where, reply);
}

/** Starts the stand-in with fresh TLS material, a seeded cluster (default, kube-system, kube-public). */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const tls = generateTlsMaterial();
  const token = options.tokens?.[0] ?? `stand-in-${Math.random().toString(36).slice(2)}`;
  const tokens = new Set(options.tokens ?? [token]);
  const sandbox = mkdtempSync(join(tmpdir(), 'gatehouse-kube-exec-'));
  const cluster: Cluster = {
    store: new ObjectStore(() => new Date(), observeGeneration),
    logs: new PodLogs(),
    now: () => new Date(),
    minor: options.minor ?? 31,
    graceMs: options.graceMs ?? 300,
    sandbox,
    problems: [],
  };
  seedNamespaces(cluster);
  cluster.store.subscribe((event) => {
    if (event.resourceType.resource !== 'pods') return;
    const { name, namespace = '' } = event.object.metadata;
    if (event.type === 'DELETED') return cluster.logs.forget(namespace, name);
    if (event.type !== 'ADDED') return;
    for (const container of event.object.spec?.containers ?? [])
      cluster.logs.append(namespace, name, container.name, `container ${container.name} of pod ${name} started\n`);
  });
  const requests: RequestRecord[] = [];
  const execs: ExecRecord[] = [];
  let address = '';
  const context = { tokens, openapi: buildOpenApiV3(cluster.minor), address: () => address };
  const server = https.createServer(
    { cert: tls.serverCert, key: tls.serverKey, ca: tls.ca, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => serve(cluster, context, requests, req, res, Buffer.concat(chunks)));
    },
  );
  const upgrade = acceptExec(cluster, execs, (req) => {
    const credential = credentialOf(req, tokens);
    const url = new URL(req.url ?? '/', 'https://kubernetes');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.search,
      headers: req.headers,
      credential: credential ?? { kind: 'none' },
      status: 101,
      upgrade: true,
      at: Date.now(),
    });
    return requests[requests.length - 1]!;
  });
  server.on('upgrade', upgrade.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `https://${address}`,
    tls,
    token,
    cluster,
    requests,
    execs,
    close: async () => {
      upgrade.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(sandbox, { recursive: true, force: true });
    },
  };
}
