import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { AuditDurability } from '../gateway/config/config-types.ts';
import { loadConfig } from '../gateway/config/load-config.ts';
import { startGateway, type RunningGateway } from '../gateway/server/gateway.ts';
import { createNullRecorder } from './null-recorder.ts';

const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
export const BENCH_TOKEN = 'bench-static-token-0123456789abcdef';

export interface BenchTarget {
  url: string;
  database: string;
  drop(): Promise<void>;
}

/** A fresh database on the local server for one benchmark (dropped afterwards). */
export async function createBenchTarget(): Promise<BenchTarget> {
  const database = `gh_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(ADMIN);
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  return {
    database,
    url: `postgres://postgres@127.0.0.1:5432/${database}`,
    drop: async () => {
      const c = new pg.Client(ADMIN);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** `off` runs the connection as `required` with a recorder that writes nothing (bench only). */
export type BenchAudit = 'required' | 'best-effort' | 'off';

/** The whole gateway (default policy, embedded store on disk) in front of a bench target. */
export async function startBenchGateway(
  target: BenchTarget,
  options: { audit: BenchAudit; policies?: string; store?: string; durability?: AuditDurability },
): Promise<RunningGateway & { url: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const file = path.join(dir, 'gatehouse.yaml');
  writeFileSync(
    file,
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      `store: ${options.store ?? path.join(dir, 'store')}`,
      `policies: ${options.policies ?? path.resolve('policies')}`,
      `audit: { sample_rows: 0, durability: ${options.durability ?? 'write'} }`,
      'connections:',
      '  app-db:',
      '    type: postgres',
      `    url: ${target.url}`,
      `    audit: ${options.audit === 'off' ? 'required' : options.audit}`,
      'static_tokens:',
      `  - { name: bench, token: ${BENCH_TOKEN}, connections: [app-db] }`,
    ].join('\n'),
  );
  const gateway = await startGateway(loadConfig(file), {
    log: () => undefined,
    ...(options.audit === 'off' ? { createRecorder: createNullRecorder } : {}),
  });
  return { ...gateway, url: `postgres://bench:${BENCH_TOKEN}@127.0.0.1:${gateway.postgresPort}/app-db` };
}
