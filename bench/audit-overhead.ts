// Cost of durable audit on the data path: record() latency and throughput per audit.durability on both store engines.
// Runnable alone: node --import tsx bench/audit-overhead.ts [seconds]
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { openDiskJournal } from '../gateway/audit/journal/disk-journal.ts';
import { createRecorder } from '../gateway/audit/recorder.ts';
import type { AuditDurability } from '../gateway/config/config-types.ts';
import { createStore } from '../gateway/store/create-store.ts';
import { renderTable, type BenchRow } from './bench-table.ts';

/** What one run measured: throughput of acknowledged events and the latency of `record()`. */
export interface AuditOverheadResult {
  engine: 'pglite' | 'postgres';
  durability: AuditDurability;
  clients: number;
  seconds: number;
  events: number;
  eventsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number };
  /** Average events per store transaction (shipping in batches, or group commit with `store`). */
  eventsPerBatch: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/**
 * Simulates `clients` concurrent pgbench -S style connections against the store at `location`:
 * each loop records a `statement` (awaited, as the adapter does before forwarding) and a
 * `statement.result` (not awaited: it joins the next statement's commit), for `seconds`.
 */
export async function measureRecordOverhead(
  location: string,
  options: { clients?: number; seconds?: number; durability?: AuditDurability } = {},
): Promise<AuditOverheadResult> {
  const clients = options.clients ?? 8;
  const seconds = options.seconds ?? 3;
  const durability = options.durability ?? 'write';
  const store = await createStore(location);
  let transactions = 0;
  const ship = store.shipAuditEvents.bind(store);
  store.shipAuditEvents = (events) => {
    transactions++;
    return ship(events);
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-journal-'));
  const recorder = createRecorder({
    store,
    durability,
    sealSweepMs: 0,
    journal: (checkpoint) => openDiskJournal({ dir, maxBytes: 256 << 20, checkpoint }),
  });
  const latencies: number[] = [];
  let events = 0;
  const deadline = performance.now() + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        const sessionId = randomUUID();
        const results: Promise<void>[] = [];
        await recorder.sessionStarted(sessionId, {
          claims: { repository: 'bench/audit', run_id: String(client) },
          connection: 'bench',
        });
        for (let i = 0; performance.now() < deadline; i++) {
          const started = performance.now();
          await recorder.record(sessionId, 'statement', {
            text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${i}`,
            decision: 'allow',
            rule: 'reads',
          });
          latencies.push(performance.now() - started);
          results.push(
            recorder.record(sessionId, 'statement.result', { duration_ms: 0.2, rows: 1, bytes: 12, masked_values: 0 }),
          );
          events += 2;
        }
        await Promise.all(results);
        await recorder.sessionEnded(sessionId, 'client-closed');
      }),
    );
    await recorder.flush();
  } finally {
    await recorder.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  latencies.sort((a, b) => a - b);
  return {
    engine: location.startsWith('postgres') ? 'postgres' : 'pglite',
    durability,
    clients,
    seconds,
    events,
    eventsPerSecond: events / seconds,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
    eventsPerBatch: transactions === 0 ? 0 : events / transactions,
  };
}

/** One client shows the per-statement latency; eight show batching (one write, fsync or commit for many). */
const CLIENTS = [1, 8] as const;
const DURABILITIES: readonly AuditDurability[] = ['write', 'fsync', 'store'];

async function measureAll(
  location: string,
  seconds: number,
  row: (r: AuditOverheadResult) => BenchRow,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const durability of DURABILITIES)
    for (const clients of CLIENTS)
      rows.push(row(await measureRecordOverhead(location, { seconds, clients, durability })));
  return rows;
}

const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };

/** Both engines as bench table rows; PostgreSQL is skipped (with a row saying so) when no server answers. */
export async function benchAuditOverhead(seconds = 3): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const row = (r: AuditOverheadResult): BenchRow => ({
    benchmark: `audit record(), durability ${r.durability}, ${r.engine} store (${r.clients} clients)`,
    gateway: `${Math.round(r.eventsPerSecond)} events/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms`,
    ratio: `${r.eventsPerBatch.toFixed(1)} events/store commit`,
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-audit-'));
  try {
    rows.push(...(await measureAll(dir, seconds, row)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const database = `gh_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(ADMIN);
  try {
    await admin.connect();
  } catch {
    rows.push({ benchmark: 'audit record() on postgres', ratio: 'skipped: no PostgreSQL on 127.0.0.1:5432' });
    return rows;
  }
  try {
    await admin.query(`CREATE DATABASE "${database}"`);
    const url = `postgres://${ADMIN.user}@${ADMIN.host}:${ADMIN.port}/${database}`;
    rows.push(...(await measureAll(url, seconds, row)));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchAuditOverhead(Number(process.argv[2] ?? 3));
  process.stdout.write(`${renderTable(rows)}\n`);
}
