import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchRow } from './bench-table.ts';
import { createBenchTarget, startBenchGateway } from './bench-gateway.ts';

const run = promisify(execFile);

/** A policy folder: the default policy and a `limits:` file. */
function boundedPolicies(limits: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-limits-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(dir, 'default.yaml'));
  writeFileSync(path.join(dir, 'limits.yaml'), limits);
  return dir;
}

/** Bounds no statement of the benchmarks reaches: every row is counted, nothing is cut off. */
const READ_BOUND = 'limits:\n  - name: bench-reads\n    statement: { rows_read: 2000000 }\n';
/** A bound on writes: every write of pgbench's TPC-B-like script is estimated by the target first. */
const WRITE_BOUND = 'limits:\n  - name: bench-writes\n    statement: { rows_written: 1000 }\n';

async function timed(command: string): Promise<number> {
  const started = performance.now();
  await run('bash', ['-c', command], { maxBuffer: 1 << 20 });
  return performance.now() - started;
}

/**
 * What bounds cost: the 1M-row SELECT through a gateway without limits and one counting every row
 * against a bound (three alternating runs each, best kept); pgbench's default TPC-B-like script
 * without and with a bound on writes (estimates by EXPLAIN), as ratios to the unbounded gateway.
 */
export async function benchBlastLimits(seconds = 10): Promise<BenchRow[]> {
  const target = await createBenchTarget();
  const plain = await startBenchGateway(target, { audit: 'required' });
  const reads = await startBenchGateway(target, { audit: 'required', policies: boundedPolicies(READ_BOUND) });
  const writes = await startBenchGateway(target, { audit: 'required', policies: boundedPolicies(WRITE_BOUND) });
  const select = (url: string) =>
    timed(`psql '${url}' -tA -c "SELECT g, repeat('x', 40) FROM generate_series(1, 1000000) g" > /dev/null`);
  const tpcb = async (url: string, mode: string) => {
    const { stdout } = await run('pgbench', ['-c', '4', '-j', '2', '-T', String(seconds), '-M', mode, '-n', url]);
    return Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  };
  try {
    const unbounded: number[] = [];
    const bounded: number[] = [];
    for (let i = 0; i < 3; i++) {
      unbounded.push(await select(plain.url));
      bounded.push(await select(reads.url));
    }
    const [a, b] = [Math.min(...unbounded), Math.min(...bounded)];
    const rows: BenchRow[] = [
      {
        benchmark: '1M-row SELECT (psql), rows counted against a bound / no bound',
        direct: `${a.toFixed(0)} ms`,
        gateway: `${b.toFixed(0)} ms`,
        ratio: `${(a / b).toFixed(2)}`,
        goal: '≥ 0.95',
      },
    ];
    await run('pgbench', ['-i', '-s', '1', '-q', target.url]);
    for (const mode of ['simple', 'prepared']) {
      const without = await tpcb(plain.url, mode);
      const withBound = await tpcb(writes.url, mode);
      rows.push({
        benchmark: `pgbench TPC-B-like, 4 clients, ${mode}: write bound (EXPLAIN estimates) / no bound`,
        direct: `${without.toFixed(0)} tps`,
        gateway: `${withBound.toFixed(0)} tps`,
        ratio: (withBound / without).toFixed(2),
      });
    }
    return rows;
  } finally {
    for (const gateway of [plain, reads, writes]) await gateway.close();
    await target.drop();
  }
}
