import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BenchRow } from './bench-table.ts';
import type { AuditDurability } from '../gateway/config/config-types.ts';
import { createBenchTarget, startBenchGateway, type BenchAudit, type BenchTarget } from './bench-gateway.ts';

const run = promisify(execFile);

interface PgbenchResult {
  tps: number;
  latencyMs: number;
}

async function pgbench(url: string, args: string[]): Promise<PgbenchResult> {
  const { stdout } = await run('pgbench', [...args, url], { maxBuffer: 1 << 24 });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  return { tps, latencyMs };
}

const SELECT_ONLY = (mode: 'simple' | 'prepared', seconds: number) => [
  '-S',
  '-c',
  '8',
  '-j',
  '2',
  '-T',
  String(seconds),
  '-M',
  mode,
  '-n',
];

interface Variant {
  label: string;
  audit: BenchAudit;
  store?: string;
  durability?: AuditDurability;
}

/**
 * pgbench -S with 8 clients, simple and prepared, direct and through the gateway in the same
 * run (default policy; embedded store with audit required under each `audit.durability`,
 * best-effort and off; a PostgreSQL store with durability write and store), so the ratios compare
 * like with like; a last row per mode is what audit costs on the default configuration (on / off).
 */
export async function benchPgbench(seconds = 10): Promise<BenchRow[]> {
  const target: BenchTarget = await createBenchTarget();
  const stores = [await createBenchTarget(), await createBenchTarget()];
  const variants: Variant[] = [
    { label: 'audit required (durability write)', audit: 'required' },
    { label: 'audit required, durability fsync', audit: 'required', durability: 'fsync' },
    { label: 'audit required, durability store', audit: 'required', durability: 'store' },
    { label: 'audit best-effort', audit: 'best-effort' },
    { label: 'audit off', audit: 'off' },
    { label: 'audit required, PostgreSQL store (durability write)', audit: 'required', store: stores[0]!.url },
    {
      label: 'audit required, PostgreSQL store, durability store',
      audit: 'required',
      store: stores[1]!.url,
      durability: 'store',
    },
  ];
  const off = variants.findIndex((v) => v.audit === 'off');
  const rows: BenchRow[] = [];
  const gateways: Array<Awaited<ReturnType<typeof startBenchGateway>>> = [];
  try {
    await run('pgbench', ['-i', '-s', '1', '-q', target.url]);
    for (const variant of variants) gateways.push(await startBenchGateway(target, variant));
    for (const mode of ['simple', 'prepared'] as const) {
      const direct = await pgbench(target.url, SELECT_ONLY(mode, seconds));
      const through: PgbenchResult[] = [];
      for (const gateway of gateways) through.push(await pgbench(gateway.url, SELECT_ONLY(mode, seconds)));
      variants.forEach((variant, i) => {
        rows.push({
          benchmark: `pgbench -S, 8 clients, ${mode}, ${variant.label}`,
          direct: `${direct.tps.toFixed(0)} tps, ${direct.latencyMs.toFixed(2)} ms`,
          gateway: `${through[i]!.tps.toFixed(0)} tps, ${through[i]!.latencyMs.toFixed(2)} ms`,
          ratio: (through[i]!.tps / direct.tps).toFixed(2),
          goal: i === 0 ? '≥ 0.50' : '',
        });
      });
      rows.push({
        benchmark: `pgbench -S, 8 clients, ${mode}: audit on / off`,
        gateway: `${through[0]!.tps.toFixed(0)} / ${through[off]!.tps.toFixed(0)} tps`,
        ratio: (through[0]!.tps / through[off]!.tps).toFixed(2),
        goal: '≥ 0.85',
      });
    }
  } finally {
    for (const gateway of gateways) await gateway.close();
    for (const db of [target, ...stores]) await db.drop();
  }
  return rows;
}

/** A 1,000,000-row read through psql, direct vs gateway (wall time). */
export async function benchLargeRead(): Promise<BenchRow[]> {
  const target = await createBenchTarget();
  const gateway = await startBenchGateway(target, { audit: 'required' });
  const sql = "COPY (SELECT g, repeat('x', 40) FROM generate_series(1, 1000000) g) TO STDOUT";
  const time = async (url: string) => {
    const started = performance.now();
    await run('bash', ['-c', `psql '${url}' -c "${sql}" > /dev/null`]);
    const select = performance.now();
    await run('bash', [
      '-c',
      `psql '${url}' -tA -c "SELECT g, repeat('x', 40) FROM generate_series(1, 1000000) g" > /dev/null`,
    ]);
    return { copy: select - started, select: performance.now() - select };
  };
  try {
    const direct = await time(target.url);
    const through = await time(gateway.url);
    return [
      {
        benchmark: '1M-row COPY TO STDOUT (psql)',
        direct: `${direct.copy.toFixed(0)} ms`,
        gateway: `${through.copy.toFixed(0)} ms`,
        ratio: `${(through.copy / direct.copy).toFixed(2)}× time`,
        goal: '≤ 1.5×',
      },
      {
        benchmark: '1M-row SELECT (psql)',
        direct: `${direct.select.toFixed(0)} ms`,
        gateway: `${through.select.toFixed(0)} ms`,
        ratio: `${(through.select / direct.select).toFixed(2)}× time`,
        goal: '≤ 1.5×',
      },
    ];
  } finally {
    await gateway.close();
    await target.drop();
  }
}
