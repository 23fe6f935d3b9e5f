import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { renderKubeconfig } from '../actions/src/kubeconfig.ts';
import { loadConfig } from '../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../gateway/identity/dev-issuer.ts';
import { systemClock } from '../gateway/identity/session-context.ts';
import { startGateway, type RunningGateway } from '../gateway/server/gateway.ts';
import { startKubeApiServer, type KubeApiServer } from '../test/support/kube-apiserver/kube-apiserver.ts';
import { findResourceType } from '../test/support/kube-apiserver/resource-catalog.ts';
import { kubeconfigText, kubectlBinary } from '../test/support/kubectl.ts';
import type { ConnectReadyLine, LocalConnection } from '../wire/control-api.ts';
import type { BenchRow } from './bench-table.ts';

const run = promisify(execFile);
const AUDIENCE = 'http://gatehouse.bench';
const LIST_SIZE = 1000;
const KUBECTL_MINOR = 31;

const POLICY = [
  'identities: [{ name: bench, claims: { repository: acme/app }, connections: [cluster] }]',
  'rules: [{ name: reads, action: allow, when: { k8s: { verbs: [get, list] } }, reason: "reads" }]',
  'masking: [{ detectors: [github_token, email] }]',
].join('\n');

function seed(server: KubeApiServer): void {
  const store = server.cluster.store;
  const namespaces = findResourceType('', 'v1', 'namespaces')!;
  const pods = findResourceType('', 'v1', 'pods')!;
  for (const name of ['small', 'big'])
    store.create(namespaces, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const pod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench' } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', env: [{ name: 'MODE', value: 'bench' }] }] },
  });
  for (let i = 0; i < 3; i++) store.create(pods, 'small', pod(`web-${i}`));
  for (let i = 0; i < LIST_SIZE; i++) store.create(pods, 'big', pod(`pod-${String(i).padStart(4, '0')}`));
}

async function startBenchGateway(dir: string, server: KubeApiServer): Promise<RunningGateway> {
  writeFileSync(path.join(dir, 'ca.pem'), server.tls.ca);
  writeFileSync(path.join(dir, 'token'), server.token);
  const file = path.join(dir, 'gatehouse.yaml');
  writeFileSync(
    file,
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      `public_url: ${AUDIENCE}`,
      `store: ${path.join(dir, 'store')}`,
      `issuers: [{ issuer: dev, audience: "${AUDIENCE}" }]`,
      'policies: ./policies',
      'connections:',
      `  cluster: { type: kubernetes, url: "${server.url}", ca: "\${file:ca.pem}", token: "\${file:token}", audit: ${process.env.BENCH_KUBE_AUDIT ?? 'required'} }`,
    ].join('\n'),
  );
  return startGateway(loadConfig(file), { log: () => undefined });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready`)));
  });
}

/** `gatehouse connect` in its own process, as on a runner. */
async function startConnect(gateway: RunningGateway): Promise<{ local: LocalConnection; stop(): void }> {
  const token = await mintDevToken(
    await loadDevIssuerKey(gateway.store),
    AUDIENCE,
    { repository: 'acme/app' },
    systemClock,
  );
  const child = spawn(
    process.execPath,
    [path.resolve('bin/gatehouse.js'), 'connect', '--gateway', gateway.httpUrl, '--token', token, 'cluster'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const ready = JSON.parse(await firstLine(child)) as ConnectReadyLine;
  return { local: ready.connections[0]!, stop: () => child.kill() };
}

interface Endpoint {
  url: string;
  ca: string;
  token: string;
  kubeconfig: string;
}

/** Median and fastest of a series: on a shared machine the fastest shows the cost, the median the contention. */
interface Timing {
  median: number;
  min: number;
}

const timing = (values: number[]): Timing => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]! };
};

/** Median wall time of `runs` sequential API GETs on one keep-alive connection. */
async function apiGets(endpoint: Endpoint, target: string, runs: number): Promise<Timing> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: endpoint.ca });
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = https.request(`${endpoint.url}${target}`, {
        agent,
        headers: { authorization: `Bearer ${endpoint.token}`, accept: 'application/json' },
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) reject(new Error(`${target}: HTTP ${res.statusCode}`));
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      });
      req.on('error', reject);
      req.end();
    });
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  agent.destroy();
  return timing(times);
}

/** Median wall time of `runs` kubectl invocations (its discovery cache warmed first). */
async function kubectlRuns(endpoint: Endpoint, args: string[], runs: number): Promise<Timing> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-kubectl-'));
  const kubeconfig = path.join(home, 'kubeconfig');
  writeFileSync(kubeconfig, endpoint.kubeconfig, { mode: 0o600 });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig };
  const binary = kubectlBinary(KUBECTL_MINOR);
  try {
    await run(binary, args, { env, maxBuffer: 64 * 1024 * 1024 });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await run(binary, args, { env, maxBuffer: 64 * 1024 * 1024 });
      times.push(performance.now() - started);
    }
    return timing(times);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const ms = (t: Timing) => `p50 ${t.median.toFixed(1)} ms, min ${t.min.toFixed(1)} ms`;

function row(benchmark: string, direct: Timing, gateway: Timing): BenchRow {
  return {
    benchmark,
    direct: ms(direct),
    gateway: ms(gateway),
    ratio: `${(direct.median / gateway.median).toFixed(2)} (min ${(direct.min / gateway.min).toFixed(2)})`,
  };
}

/**
 * Kubernetes reads, direct to the API server stand-in vs through `gatehouse connect` (TLS with its
 * own CA), the tunnel and the Kubernetes adapter (RequestInfo, policy, audit, Secret/detector
 * masking of every object), in the same run: `kubectl get pods` of 3 pods and of 1,000 pods (a
 * Table), and the raw API GET of one pod and of a 1,000-pod list (JSON), medians.
 */
export async function benchKubernetes(runs = Number(process.env.BENCH_RUNS ?? 10)): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-kube-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(path.join(dir, 'policies', 'kube.yaml'), POLICY);
  const server = await startKubeApiServer();
  seed(server);
  const gateway = await startBenchGateway(dir, server);
  const connect = await startConnect(gateway);
  try {
    const direct: Endpoint = {
      url: server.url,
      ca: server.tls.ca,
      token: server.token,
      kubeconfig: kubeconfigText({ server: server.url, ca: server.tls.ca, token: server.token }),
    };
    const local = connect.local;
    const through: Endpoint = {
      url: local.url!,
      ca: local.ca!,
      token: local.password!,
      kubeconfig: renderKubeconfig([local])!,
    };
    const rows: BenchRow[] = [];
    const both = async (name: string, measure: (endpoint: Endpoint) => Promise<Timing>) =>
      rows.push(row(name, await measure(direct), await measure(through)));
    await both(`kubectl 1.${KUBECTL_MINOR} get pods (3 pods), ${runs} runs`, (e) =>
      kubectlRuns(e, ['get', 'pods', '-n', 'small'], runs),
    );
    await both(`kubectl 1.${KUBECTL_MINOR} get pods (${LIST_SIZE} pods, Table), ${runs} runs`, (e) =>
      kubectlRuns(e, ['get', 'pods', '-n', 'big'], runs),
    );
    await both(`API GET one pod (keep-alive), ${runs * 10} runs`, (e) =>
      apiGets(e, '/api/v1/namespaces/small/pods/web-0', runs * 10),
    );
    await both(`API list of ${LIST_SIZE} pods (JSON), ${runs} runs`, (e) =>
      apiGets(e, '/api/v1/namespaces/big/pods', runs),
    );
    return rows;
  } finally {
    connect.stop();
    await gateway.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
