// `npm run bench`: every benchmark, direct and through the gateway in the same run, as one table.
// A benchmark, not a test: nothing here fails on speed. `npm run bench -- pgbench` runs one group.
import { benchActionConnectRows } from './action-connect.ts';
import { benchApprovalLatency } from './approval-latency.ts';
import { renderTable, type BenchRow } from './bench-table.ts';
import { benchHttpRequests } from './http-requests.ts';
import { benchKubernetes } from './kubernetes.ts';
import { benchMariadbSlap } from './mariadb-slap.ts';
import { benchLargeRead, benchPgbench } from './pgbench.ts';
import { benchMasking1m } from './masking-1m.ts';
import { benchPolicyDecision } from './policy-decision.ts';
import { benchAuditOverhead } from './audit-overhead.ts';
import { benchBlastLimits } from './blast-limits.ts';
import { benchSessionExchange } from './session-exchange.ts';
import { benchSessionTunnel } from './session-tunnel.ts';
import { benchSshThroughput } from './ssh-throughput.ts';

const groups: Record<string, () => Promise<BenchRow[]>> = {
  pgbench: () => benchPgbench(Number(process.env.BENCH_SECONDS ?? 10)),
  'large-read': benchLargeRead,
  'policy-decision': () => benchPolicyDecision(),
  'action-connect': () => benchActionConnectRows(),
  'masking-1m': benchMasking1m,
  'approval-latency': () => benchApprovalLatency(),
  'audit-overhead': () => benchAuditOverhead(),
  'session-exchange': () => benchSessionExchange(),
  'session-tunnel': () => benchSessionTunnel(Number(process.env.BENCH_SECONDS ?? 10)),
  'ssh-throughput': () => benchSshThroughput(),
  'http-requests': () => benchHttpRequests(Number(process.env.BENCH_SECONDS ?? 5)),
  'mariadb-slap': () => benchMariadbSlap(),
  'blast-limits': () => benchBlastLimits(Number(process.env.BENCH_SECONDS ?? 10)),
  kubernetes: () => benchKubernetes(),
};

const only = process.argv.slice(2);
const rows: BenchRow[] = [];
for (const [name, bench] of Object.entries(groups)) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stderr.write(`running ${name}...\n`);
  try {
    rows.push(...(await bench()));
  } catch (error) {
    rows.push({ benchmark: name, ratio: `failed: ${(error as Error).message.split('\n')[0]}` });
  }
}
process.stdout.write(`${renderTable(rows)}\n`);
process.exit(0);
