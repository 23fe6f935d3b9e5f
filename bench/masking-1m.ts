// A 1M-row read with one masked column and the content detectors on, direct vs through the
// gateway in one run, with the gateway process's peak RSS growth (memory must stay bounded).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createBenchTarget, startBenchGateway } from './bench-gateway.ts';
import type { BenchRow } from './bench-table.ts';

const run = promisify(execFile);
const ROWS = 1_000_000;
/** Rounds per mode, interleaved; the best time of each mode is reported (shared machines are noisy). */
const RUNS = Number(process.env.BENCH_ROUNDS ?? 3);

const MASKING_POLICY = `
masking:
  - connections: ["*"]
    columns:
      - { column: "public.bench_customers.email", keep_last: 0 }
    detectors: [payment_card, email, us_ssn, jwt, aws_access_key, github_token, private_key]
`;

const SQL = 'SELECT id, email, note FROM bench_customers';

/** Runs the benchmark and returns its lines for the bench table. */
export async function benchMasking1m(): Promise<BenchRow[]> {
  const target = await createBenchTarget();
  const setup = new pg.Client({ connectionString: target.url });
  await setup.connect();
  await setup.query(`CREATE TABLE bench_customers (id int PRIMARY KEY, email text, note text);
    INSERT INTO bench_customers SELECT g, 'user' || g || '@example.com', 'order note number ' || g FROM generate_series(1, ${ROWS}) g;
    ANALYZE bench_customers`);
  await setup.end();
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-masking-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(path.join(policies, 'masking.yaml'), MASKING_POLICY);
  const gateway = await startBenchGateway(target, { audit: 'best-effort', policies });
  const unmasked = await startBenchGateway(target, { audit: 'best-effort' });
  const time = async (url: string) => {
    const started = performance.now();
    const { stdout } = await run('bash', ['-c', `psql '${url}' -X -tA -c "${SQL}" | tail -1`], { maxBuffer: 1 << 20 });
    return { ms: performance.now() - started, last: stdout.trim() };
  };
  try {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const best = { direct: Infinity, plain: Infinity, masked: Infinity };
    let through = { ms: 0, last: '' };
    for (let round = 0; round < RUNS; round++) {
      best.direct = Math.min(best.direct, (await time(target.url)).ms);
      best.plain = Math.min(best.plain, (await time(unmasked.url)).ms);
      through = await time(gateway.url);
      best.masked = Math.min(best.masked, through.ms);
    }
    clearInterval(sampler);
    const direct = { ms: best.direct };
    const plain = { ms: best.plain };
    through.ms = best.masked;
    if (!through.last.includes('****') || through.last.includes('@example.com')) {
      throw new Error(`the masked column was not masked through the gateway (last row: ${through.last.slice(0, 60)})`);
    }
    return [
      {
        benchmark: `1M-row SELECT, 1 masked column + detectors (psql, best of ${RUNS})`,
        direct: `${direct.ms.toFixed(0)} ms`,
        gateway: `${through.ms.toFixed(0)} ms`,
        ratio: `${(through.ms / direct.ms).toFixed(2)}× time`,
        goal: '≤ 2×',
      },
      {
        benchmark: 'same read through the gateway without masking (relay cost alone)',
        direct: `${direct.ms.toFixed(0)} ms`,
        gateway: `${plain.ms.toFixed(0)} ms`,
        ratio: `${(plain.ms / direct.ms).toFixed(2)}× time`,
      },
      {
        benchmark: 'gateway peak RSS growth during the 1M-row reads',
        gateway: `${((peak - baseline) / 1048576).toFixed(0)} MiB`,
        goal: 'bounded',
      },
    ];
  } finally {
    await gateway.close();
    await unmasked.close();
    await target.drop();
  }
}
