// Profiling aid: starts the bench gateway in front of an existing database and prints its URL;
// run pgbench against it, then Ctrl-C. Usage: node --cpu-prof --import tsx bench/profile-gateway.ts <db-url> [best-effort|required|off] [store]
import { startBenchGateway, type BenchAudit } from './bench-gateway.ts';

const [url, audit = 'required'] = process.argv.slice(2);
const gateway = await startBenchGateway(
  { url: url!, database: '', drop: async () => undefined },
  { audit: audit as BenchAudit, store: process.argv[4] },
);
process.stdout.write(`${gateway.url}\n`);
process.once('SIGINT', async () => {
  await gateway.close();
  process.exit(0);
});
