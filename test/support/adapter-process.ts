// A PostgreSQL adapter in its own process, so a test can measure its memory alone.
// Usage: node --import tsx test/support/adapter-process.ts <target-url>
import net from 'node:net';
import { parseConfig } from '../../gateway/config/load-config.ts';
import { createLiveSessions } from '../../gateway/enforcement/live-sessions.ts';
import { systemClock } from '../../gateway/identity/session-context.ts';
import { createPostgresAdapter } from '../../gateway/postgres/postgres-adapter.ts';
import { createMetrics } from '../../gateway/server/metrics.ts';
import { recordingGate, TEST_TOKEN } from './postgres-gateway.ts';

const config = parseConfig(
  `connections:\n  app-db:\n    type: postgres\n    url: ${process.argv[2]}\n`,
  'adapter-process.yaml',
);
const session = {
  sessionId: 's',
  identity: { sessionId: 's', claims: {} },
  connections: ['app-db'],
  expiresAt: new Date(Date.now() + 3600_000),
};
const adapter = createPostgresAdapter({
  config,
  authenticate: async (token) => (token === TEST_TOKEN ? session : null),
  openClient: () => ({ gate: recordingGate() }),
  live: createLiveSessions(systemClock),
  clock: systemClock,
  metrics: createMetrics(),
  log: (m) => process.stderr.write(`${m}\n`),
});
const server = net.createServer((socket) => adapter.accept(socket, { loopback: true }));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
