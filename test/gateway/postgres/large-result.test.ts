import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { TEST_TOKEN } from '../../support/postgres-gateway.ts';

const run = promisify(execFile);
let db: TestDatabase;
let child: ChildProcess;
let port: number;

beforeAll(async () => {
  db = await createTestDatabase('');
  child = spawn(process.execPath, ['--import', 'tsx', 'test/support/adapter-process.ts', db.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  port = await new Promise<number>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
});
afterAll(async () => {
  child?.kill();
  await db?.drop();
});

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('a large result through the gateway', () => {
  it('streams 1,000,000 rows to a slow reader while the gateway stays under a memory bound', async () => {
    const url = `postgres://ci:${TEST_TOKEN}@127.0.0.1:${port}/app-db`;
    const before = peakRssMb(child.pid!);
    // The reader stalls for a second before draining, so the gateway must apply backpressure.
    const sql = "COPY (SELECT g, repeat('x', 40) FROM generate_series(1, 1000000) g) TO STDOUT";
    const { stdout } = await run('bash', ['-c', `psql '${url}' -c "${sql}" | (sleep 1; wc -l)`], {
      maxBuffer: 1 << 20,
    });
    expect(Number(stdout.trim())).toBe(1_000_000);
    const rows = await run('bash', [
      '-c',
      `psql '${url}' -tA -c "SELECT g FROM generate_series(1, 1000000) g" | wc -l`,
    ]);
    expect(Number(rows.stdout.trim())).toBe(1_000_000);
    // ~50 MB crossed the gateway; its own memory must not grow with the result.
    expect(peakRssMb(child.pid!) - before).toBeLessThan(60);
  }, 120_000);
});
