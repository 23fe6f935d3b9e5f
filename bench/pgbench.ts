import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BenchRow } from './bench-table.ts';
import type { AuditDurability } from '../gateway/config/config-types.ts';
import { createBenchTarget, startBenchGateway, type BenchAudit, type BenchTarget } from './bench-gateway.ts';
import { PGBOUNCER_MISSING, pgbouncerPath, startPgbouncer, startTcpPipe, type SideProxy } from './side-proxies.ts';

const run = promisify(execFile);

interface PgbenchResult {
  tps: number;
  latencyMs: number;
  /** CPU this process (the gateway or the pipe, with their threads) spent per transaction. */
  cpuUsPerTx?: number;
}

/** CPU microseconds this process (the gateway and the pipe run in it, with their threads) has used. */
const ownCpu = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * Runs pgbench; with `cpu` (the proxy's CPU clock in µs) adds its CPU per transaction, a figure
 * that depends far less on what else the shared machine runs than tps does. `settle` waits for
 * the work the run left behind (a gateway's audit shipping).
 */
async function pgbench(
  url: string,
  args: string[],
  cpu?: () => number,
  settle?: () => Promise<void>,
): Promise<PgbenchResult> {
  const before = cpu?.() ?? 0;
  const { stdout } = await run('pgbench', [...args, url], { maxBuffer: 1 << 24 });
  // The audit events of the run are shipped before the CPU is read, so the row pays for its own backlog and the next row for none of it.
  await settle?.();
  const used = (cpu?.() ?? 0) - before;
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const transactions = Number(/actually processed: (\d+)/.exec(stdout)?.[1]);
  if (!cpu || !(transactions > 0)) return { tps, latencyMs };
  return { tps, latencyMs, cpuUsPerTx: used / transactions };
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
  /** Picks the variant in `BENCH_VARIANTS` (comma-separated; default: all). */
  key: string;
  label: string;
  audit: BenchAudit;
  store?: string;
  durability?: AuditDurability;
}

/**
 * pgbench -S with 8 clients, simple and prepared, direct and through the gateway in the same
 * run (default policy; embedded store with audit required under each `audit.durability`,
 * best-effort and off; a PostgreSQL store with durability write and store), so the ratios compare
 * like with like. pgbouncer (session mode) and a naive TCP pipe run beside it, the yardsticks of
 * the goal; a last row per mode is what audit costs on the default configuration (on / off).
 * `BENCH_VARIANTS=write,off` runs only those gateway variants.
 */
export async function benchPgbench(seconds = 10): Promise<BenchRow[]> {
  const target: BenchTarget = await createBenchTarget();
  const stores = [await createBenchTarget(), await createBenchTarget()];
  const chosen = process.env.BENCH_VARIANTS?.split(',').map((k) => k.trim());
  const variants = allVariants(stores).filter((v) => !chosen || chosen.includes(v.key));
  const on = variants.findIndex((v) => v.audit === 'required');
  const off = variants.findIndex((v) => v.audit === 'off');
  const rows: BenchRow[] = [];
  const gateways: Array<Awaited<ReturnType<typeof startBenchGateway>>> = [];
  const sides: SideProxy[] = [];
  try {
    await run('pgbench', ['-i', '-s', '1', '-q', target.url]);
    const bouncer = pgbouncerPath();
    const pgbouncer = bouncer ? await startPgbouncer(bouncer, target.url) : undefined;
    if (pgbouncer) sides.push(pgbouncer);
    const pipe = await startTcpPipe(target.url);
    sides.push(pipe);
    for (const variant of variants) gateways.push(await startBenchGateway(target, variant));
    // One warm-up second each, so no row pays for JIT compilation or first connections.
    for (const url of [pipe.url, ...gateways.map((g) => g.url)]) await pgbench(url, SELECT_ONLY('simple', 1));
    for (const mode of ['simple', 'prepared'] as const) {
      const direct = await pgbench(target.url, SELECT_ONLY(mode, seconds));
      const row = (label: string, result: PgbenchResult, goal = ''): BenchRow => ({
        benchmark: `pgbench -S, 8 clients, ${mode}, ${label}`,
        direct: `${direct.tps.toFixed(0)} tps, ${direct.latencyMs.toFixed(2)} ms`,
        gateway: `${result.tps.toFixed(0)} tps, ${result.latencyMs.toFixed(2)} ms${cpuOf(result)}`,
        ratio: (result.tps / direct.tps).toFixed(2),
        goal,
      });
      if (pgbouncer)
        rows.push(
          row(
            'pgbouncer, session mode (not the gateway)',
            await pgbench(pgbouncer.url, SELECT_ONLY(mode, seconds), pgbouncer.cpuMicros),
          ),
        );
      else rows.push({ benchmark: `pgbench -S, 8 clients, ${mode}, pgbouncer`, ratio: PGBOUNCER_MISSING });
      rows.push(
        row('naive Node TCP pipe (not the gateway)', await pgbench(pipe.url, SELECT_ONLY(mode, seconds), ownCpu)),
      );
      const through: PgbenchResult[] = [];
      for (const gateway of gateways)
        through.push(await pgbench(gateway.url, SELECT_ONLY(mode, seconds), ownCpu, () => shipped(gateway)));
      variants.forEach((variant, i) => rows.push(row(variant.label, through[i]!, i === on ? '≥ 0.50' : '')));
      if (on >= 0 && off >= 0)
        rows.push({
          benchmark: `pgbench -S, 8 clients, ${mode}: audit on / off`,
          gateway: `${through[on]!.tps.toFixed(0)} / ${through[off]!.tps.toFixed(0)} tps`,
          ratio: (through[on]!.tps / through[off]!.tps).toFixed(2),
          goal: '≥ 0.85',
        });
    }
  } finally {
    for (const gateway of gateways) await gateway.close();
    for (const side of sides) await side.close();
    for (const db of [target, ...stores]) await db.drop();
  }
  return rows;
}

/** Until the gateway's audit events so far are in its journal and were offered to its store. */
function shipped(gateway: { recorder: { flush(): Promise<void> } }): Promise<void> {
  return gateway.recorder.flush();
}

function cpuOf(result: PgbenchResult): string {
  return result.cpuUsPerTx === undefined ? '' : `, ${result.cpuUsPerTx.toFixed(0)} µs CPU/stmt`;
}

function allVariants(stores: BenchTarget[]): Variant[] {
  return [
    { key: 'write', label: 'audit required (durability write)', audit: 'required' },
    { key: 'fsync', label: 'audit required, durability fsync', audit: 'required', durability: 'fsync' },
    { key: 'store', label: 'audit required, durability store', audit: 'required', durability: 'store' },
    { key: 'best-effort', label: 'audit best-effort', audit: 'best-effort' },
    { key: 'off', label: 'audit off', audit: 'off' },
    {
      key: 'pg-write',
      label: 'audit required, PostgreSQL store (durability write)',
      audit: 'required',
      store: stores[0]!.url,
    },
    {
      key: 'pg-store',
      label: 'audit required, PostgreSQL store, durability store',
      audit: 'required',
      store: stores[1]!.url,
      durability: 'store',
    },
  ];
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
