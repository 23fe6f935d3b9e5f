import net from 'node:net';
import { parseConfig } from '../../gateway/config/load-config.ts';
import type { GatehouseConfig } from '../../gateway/config/config-types.ts';
import { createLiveSessions } from '../../gateway/enforcement/live-sessions.ts';
import { systemClock, type SessionContext } from '../../gateway/identity/session-context.ts';
import { createPostgresAdapter, type PostgresAdapterDeps } from '../../gateway/postgres/postgres-adapter.ts';
import type { StatementGate } from '../../gateway/postgres/statement-gate.ts';
import { createMetrics } from '../../gateway/server/metrics.ts';
import type { TestDatabase } from './pg-target.ts';

export const TEST_TOKEN = 'test-session-token-0123456789';

/** A gate that allows everything and remembers what it saw (adapter tests without policy). */
export function recordingGate(seen: string[] = []): StatementGate & { seen: string[] } {
  return {
    seen,
    check(request) {
      if (request.kind === 'query' || request.kind === 'parse') seen.push(request.sql);
      return { forward: true };
    },
    executed() {},
    statementClosed() {},
    close() {},
  };
}

/**
 * Starts only the PostgreSQL adapter on a free loopback port, in front of `db`, with one fixed
 * session token. For tests of the protocol path itself; the full gateway has its own helper.
 */
export async function startAdapter(db: TestDatabase, overrides: Partial<PostgresAdapterDeps> = {}, extraYaml = '') {
  const config: GatehouseConfig = parseConfig(
    `connections:\n  app-db:\n    type: postgres\n    url: ${db.url}\n${extraYaml}`,
    '/tmp/gatehouse-test.yaml',
  );
  const session: SessionContext = {
    sessionId: 'sess-test',
    identity: { sessionId: 'sess-test', claims: { repository: 'acme/app' } },
    connections: ['app-db'],
    expiresAt: new Date(Date.now() + 3600_000),
  };
  const metrics = createMetrics();
  const logs: string[] = [];
  const adapter = createPostgresAdapter({
    config,
    authenticate: async (token) => (token === TEST_TOKEN ? session : null),
    openClient: () => ({ gate: recordingGate() }),
    live: createLiveSessions(systemClock),
    clock: systemClock,
    metrics,
    log: (m) => logs.push(m),
    ...overrides,
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    adapter.accept(socket, { loopback: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    adapter,
    port,
    metrics,
    logs,
    session,
    url: `postgres://ci:${TEST_TOKEN}@127.0.0.1:${port}/app-db`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
