import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../gateway/identity/dev-issuer.ts';
import { systemClock } from '../gateway/identity/session-context.ts';
import { startGateway } from '../gateway/server/gateway.ts';
import { startLocalProxy } from '../gateway/client/local-proxy.ts';
import { createTestDatabase } from '../test/support/pg-target.ts';
import type { BenchRow } from './bench-table.ts';

const run = promisify(execFile);
const AUDIENCE = 'https://gatehouse.bench';

async function pgbenchTps(url: string, seconds: number): Promise<{ tps: number; latencyMs: number }> {
  const { stdout } = await run(
    'pgbench',
    ['-S', '-c', '8', '-j', '2', '-T', String(seconds), '-M', 'simple', '-n', url],
    { maxBuffer: 1 << 24 },
  );
  return {
    tps: Number(/tps = ([\d.]+)/.exec(stdout)?.[1]),
    latencyMs: Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]),
  };
}

/**
 * pgbench -S (8 clients) direct vs through `gatehouse connect` (local password check, one
 * WebSocket tunnel per client) and the gateway's PostgreSQL adapter with the default policy.
 */
export async function benchSessionTunnel(seconds = 10): Promise<BenchRow[]> {
  const target = await createTestDatabase('SELECT 1');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-tunnel-'));
  try {
    await run('pgbench', ['-i', '-s', '1', '-q', target.url]);
    const policies = path.join(dir, 'policies');
    mkdirSync(policies);
    copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
    writeFileSync(
      path.join(policies, '10-identities.yaml'),
      'identities:\n  - { name: bench, claims: { repository: acme/app }, connections: [app-db] }\n',
    );
    const file = path.join(dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      [
        'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
        `store: ${path.join(dir, 'store')}`,
        `issuers: [{ issuer: dev, audience: "${AUDIENCE}" }]`,
        'policies: ./policies',
        'audit: { sample_rows: 0 }',
        'connections:',
        `  app-db: { type: postgres, url: "${target.url}" }`,
      ].join('\n'),
    );
    const gateway = await startGateway(loadConfig(file), { log: () => undefined });
    try {
      const token = await mintDevToken(
        await loadDevIssuerKey(gateway.store),
        AUDIENCE,
        { repository: 'acme/app' },
        systemClock,
      );
      const proxy = await startLocalProxy({
        gateway: gateway.httpUrl,
        credential: { oidcToken: token, ttl: '15m' },
        connections: [{ name: 'app-db' }],
      });
      try {
        const direct = await pgbenchTps(target.url, seconds);
        const through = await pgbenchTps(proxy.ready.connections[0]!.url!, seconds);
        return [
          {
            benchmark: 'pgbench -S, 8 clients, simple, via gatehouse connect + WebSocket tunnel',
            direct: `${direct.tps.toFixed(0)} tps, ${direct.latencyMs.toFixed(2)} ms`,
            gateway: `${through.tps.toFixed(0)} tps, ${through.latencyMs.toFixed(2)} ms`,
            ratio: (through.tps / direct.tps).toFixed(2),
          },
        ];
      } finally {
        await proxy.close({ endSession: true });
      }
    } finally {
      await gateway.close();
    }
  } finally {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
