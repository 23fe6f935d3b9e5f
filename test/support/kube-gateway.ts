import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../gateway/config/load-config.ts';
import { startGateway, type RunningGateway } from '../../gateway/server/gateway.ts';
import { openTunnel } from '../../gateway/client/tunnel-client.ts';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from './kube-apiserver/kube-apiserver.ts';

export const KUBE_STATIC_TOKEN = 'static-kube-token-abcdefghijklmnop';
export const KUBE_CONNECTION = 'ci-cluster';

/** A stand-in API server behind a whole gateway (store in memory), as connection `ci-cluster`. */
export interface KubeGateway {
  server: KubeApiServer;
  gateway: RunningGateway;
  dir: string;
  logs: string[];
  /** One request through a fresh tunnel (no local proxy): what the gateway answered. */
  request(method: string, target: string, options?: TunnelRequestOptions): Promise<TunnelAnswer>;
  close(): Promise<void>;
}

export interface TunnelRequestOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface TunnelAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

export interface KubeGatewayOptions {
  /** The policy YAML (rules, masking); identities are not needed (a static token opens the session). */
  policy: string;
  /** Claims of the static token's session. */
  claims?: Record<string, string>;
  /** Authenticate the gateway with the stand-in's client certificate instead of its token. */
  clientCertificate?: boolean;
  apiServer?: KubeApiServerOptions;
  /** Extra top-level gatehouse.yaml lines. */
  extraYaml?: string[];
}

export async function startKubeGateway(options: KubeGatewayOptions): Promise<KubeGateway> {
  const server = await startKubeApiServer(options.apiServer);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-kube-gw-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(path.join(dir, 'policies', 'kube.yaml'), options.policy);
  writeFileSync(path.join(dir, 'ca.pem'), server.tls.ca);
  writeFileSync(path.join(dir, 'token'), server.token);
  writeFileSync(path.join(dir, 'client.crt'), server.tls.clientCert);
  writeFileSync(path.join(dir, 'client.key'), server.tls.clientKey, { mode: 0o600 });
  const credential = options.clientCertificate
    ? ['    client_certificate: "${file:client.crt}"', '    client_key: "${file:client.key}"']
    : ['    token: "${file:token}"'];
  const claims = JSON.stringify(options.claims ?? { repository: 'acme/app', ref: 'refs/heads/main' });
  writeFileSync(
    path.join(dir, 'gatehouse.yaml'),
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      'public_url: http://gatehouse.test',
      'store: memory://',
      'policies: ./policies',
      'issuers: [{ issuer: dev }]',
      ...(options.extraYaml ?? []),
      'connections:',
      `  ${KUBE_CONNECTION}:`,
      '    type: kubernetes',
      `    url: ${server.url}`,
      '    ca: "${file:ca.pem}"',
      '    namespace: ci',
      ...credential,
      'static_tokens:',
      `  - { name: ci, token: ${KUBE_STATIC_TOKEN}, connections: [${KUBE_CONNECTION}], claims: ${claims} }`,
    ].join('\n'),
  );
  const logs: string[] = [];
  const gateway = await startGateway(loadConfig(path.join(dir, 'gatehouse.yaml')), { log: (m) => logs.push(m) });
  return {
    server,
    gateway,
    dir,
    logs,
    request: (method, target, requestOptions = {}) => tunnelRequest(gateway, method, target, requestOptions),
    close: async () => {
      await gateway.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function tunnelRequest(
  gateway: RunningGateway,
  method: string,
  target: string,
  options: TunnelRequestOptions,
): Promise<TunnelAnswer> {
  const stream = await openTunnel(new URL(gateway.httpUrl), KUBE_CONNECTION, KUBE_STATIC_TOKEN);
  return new Promise((resolve, reject) => {
    const req = http.request({
      method,
      path: target,
      headers: { host: 'kubernetes', ...options.headers },
      createConnection: () => stream as never,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        stream.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A request straight to the stand-in with its own token (seeding, and the bench's direct path). */
export function directRequest(
  server: KubeApiServer,
  method: string,
  target: string,
  body?: unknown,
  agent?: https.Agent,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(`${server.url}${target}`, {
      method,
      ca: server.tls.ca,
      ...(agent ? { agent } : {}),
      headers: {
        authorization: `Bearer ${server.token}`,
        accept: 'application/json',
        ...(text ? { 'content-type': 'application/json' } : {}),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(text);
  });
}
