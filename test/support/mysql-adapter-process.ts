// A MySQL adapter in its own process, so a test can measure its memory alone.
// Usage: node --import tsx test/support/mysql-adapter-process.ts <target-url> <password>
import { startMysqlAdapter } from './mysql-gateway.ts';

const url = new URL(process.argv[2]!);
const gateway = await startMysqlAdapter({
  database: url.pathname.slice(1),
  user: url.username,
  password: process.argv[3]!,
  port: Number(url.port),
  url: process.argv[2]!,
  sql: () => '',
  drop: () => undefined,
});
process.stdout.write(`${gateway.port}\n`);
