import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { loadConfig } from '../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../gateway/identity/dev-issuer.ts';
import { systemClock } from '../gateway/identity/session-context.ts';
import { startGateway, type RunningGateway } from '../gateway/server/gateway.ts';
import type { ConnectReadyLine } from '../wire/control-api.ts';
import type { BenchRow } from './bench-table.ts';
import { createNullRecorder } from './null-recorder.ts';

const run = promisify(execFile);
const AUDIENCE = 'http://gatehouse.bench';

/** The target: a plain Node HTTP server in its own process, answering a small JSON body. */
const TARGET_SCRIPT = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '27' });
  res.end('{"ok":true,"items":[1,2,3]}');
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

interface WrkResult {
  rps: number;
  p50: string;
}

/** wrk (Debian's), one thread, 16 keep-alive connections: small GETs as fast as they are answered. */
async function wrk(url: string, seconds: number, token?: string): Promise<WrkResult> {
  const header = token ? ['-H', `Authorization: Bearer ${token}`] : [];
  const { stdout } = await run('wrk', ['-t1', '-c16', `-d${seconds}s`, '--latency', ...header, url]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]), p50: /50%\s+(\S+)/.exec(stdout)?.[1] ?? '?' };
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready`)));
  });
}

async function startTarget(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ['-e', TARGET_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await firstLine(child));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

type Audit = 'required' | 'best-effort' | 'off';

async function startBenchGateway(dir: string, target: string, audit: Audit): Promise<RunningGateway> {
  const file = path.join(dir, `gatehouse-${audit}.yaml`);
  writeFileSync(
    file,
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      `public_url: ${AUDIENCE}`,
      `store: ${path.join(dir, `store-${audit}`)}`,
      `issuers: [{ issuer: dev, audience: "${AUDIENCE}" }]`,
      'policies: ./policies',
      'audit: { sample_rows: 0 }',
      'connections:',
      `  api: { type: http, url: "${target}", credential: { type: bearer, token: bench-api-token-0123456789 }, audit: ${audit === 'off' ? 'required' : audit} }`,
    ].join('\n'),
  );
  return startGateway(loadConfig(file), {
    log: () => undefined,
    ...(audit === 'off' ? { createRecorder: createNullRecorder } : {}),
  });
}

/** `gatehouse connect` in its own process, as on a runner: the local proxy the job's clients use. */
async function startConnect(gateway: RunningGateway): Promise<{ url: string; token: string; stop(): void }> {
  const token = await mintDevToken(
    await loadDevIssuerKey(gateway.store),
    AUDIENCE,
    { repository: 'acme/app' },
    systemClock,
  );
  const child = spawn(
    process.execPath,
    [path.resolve('bin/gatehouse.js'), 'connect', '--gateway', gateway.httpUrl, '--token', token, 'api'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const ready = JSON.parse(await firstLine(child)) as ConnectReadyLine;
  const api = ready.connections[0]!;
  return { url: api.url!, token: api.password!, stop: () => child.kill() };
}

/**
 * Small GETs (a 27-byte JSON body) with wrk: direct to the target vs through `gatehouse connect`
 * (its own process), the WebSocket tunnel and the HTTP adapter (policy, masking plan, audit), in
 * the same run, once per audit mode.
 */
export async function benchHttpRequests(seconds = 5): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-http-'));
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(
    path.join(dir, 'policies', 'http.yaml'),
    [
      'identities: [{ name: bench, claims: { repository: acme/app }, connections: [api] }]',
      'rules: [{ name: reads, action: allow, when: { http: { method: [GET] } }, reason: "reads" }]',
      'masking: [{ detectors: [github_token, email] }]',
    ].join('\n'),
  );
  const target = await startTarget();
  const rows: BenchRow[] = [];
  try {
    const direct = await wrk(`${target.url}/small`, seconds);
    for (const audit of ['required', 'best-effort', 'off'] as const) {
      const gateway = await startBenchGateway(dir, target.url, audit);
      const local = await startConnect(gateway);
      try {
        await wrk(`${local.url}/small`, 1, local.token);
        const through = await wrk(`${local.url}/small`, seconds, local.token);
        rows.push({
          benchmark: `HTTP small GET, wrk 16 connections, detectors on, audit ${audit}, via gatehouse connect`,
          direct: `${direct.rps.toFixed(0)} req/s, p50 ${direct.p50}`,
          gateway: `${through.rps.toFixed(0)} req/s, p50 ${through.p50}`,
          ratio: (through.rps / direct.rps).toFixed(2),
          goal: audit === 'required' ? '≥ 0.50' : '',
        });
      } finally {
        local.stop();
        await gateway.close();
      }
    }
  } finally {
    target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
