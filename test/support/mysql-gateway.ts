import net from 'node:net';
import { createLiveSessions } from '../../gateway/enforcement/live-sessions.ts';
import { systemClock, type SessionContext } from '../../gateway/identity/session-context.ts';
import { createMysqlAdapter, type MysqlAdapterDeps } from '../../gateway/mysql/mysql-adapter.ts';
import type { MysqlConnectionConfig } from '../../gateway/mysql/mysql-config.ts';
import type { MysqlGate, MysqlRequest } from '../../gateway/mysql/mysql-gate.ts';
import { loadMysqlGrammar } from '../../gateway/mysql/sql/grammar.ts';
import type { MariaDbTestTarget } from './mariadb-target.ts';

export const MYSQL_TEST_TOKEN = 'mysql-session-token-0123456789';

/** A gate that refuses statements whose command matches `deny` and remembers what it saw. */
export function recordingMysqlGate(
  deny: RegExp = /^$/,
  seen: MysqlRequest[] = [],
): MysqlGate & { seen: MysqlRequest[] } {
  return {
    seen,
    check(request) {
      seen.push(request);
      const denied = request.statements.find((s) => s.kind === 'unknown' || deny.test(s.command));
      if (denied)
        return {
          forward: false,
          code: 1142,
          sqlState: '42000',
          message: `gatehouse: denied ${denied.command}${denied.unknownReason ? `: ${denied.unknownReason}` : ''}`,
        };
      return { forward: true };
    },
    executed() {},
    close() {},
  };
}

/** Starts only the MySQL adapter on a free loopback port in front of `target`, with one fixed session token. */
export async function startMysqlAdapter(target: MariaDbTestTarget, overrides: Partial<MysqlAdapterDeps> = {}) {
  await loadMysqlGrammar();
  const connection: MysqlConnectionConfig = {
    type: 'mysql',
    name: 'app-db',
    url: target.url,
    password: target.password,
    sslmode: 'disable',
    audit: 'required',
  };
  const session: SessionContext = {
    sessionId: 'sess-mysql',
    identity: { sessionId: 'sess-mysql', claims: { repository: 'acme/app' } },
    connections: ['app-db'],
    expiresAt: new Date(Date.now() + 3600_000),
  };
  const logs: string[] = [];
  const adapter = createMysqlAdapter({
    connections: { 'app-db': connection },
    limits: { maxMessageBytes: 1 << 30, maxStatementBytes: 1 << 20 },
    authenticate: async (token) => (token === MYSQL_TEST_TOKEN ? session : null),
    openClient: () => ({ gate: recordingMysqlGate() }),
    live: createLiveSessions(systemClock),
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
    logs,
    session,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The whole gateway (store in memory, the default policy plus `extraPolicy`) in front of `target` as connection `app-db`, on a native MySQL listener. */
export async function startMysqlTestGateway(
  target: MariaDbTestTarget,
  extraPolicy = '',
  audit: 'required' | 'best-effort' = 'required',
  withoutDefaultPolicy = false,
) {
  const { mkdtempSync, writeFileSync, copyFileSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { loadConfig } = await import('../../gateway/config/load-config.ts');
  const { startGateway } = await import('../../gateway/server/gateway.ts');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-mysql-gw-'));
  const policies = path.join(dir, 'policies');
  (await import('node:fs')).mkdirSync(policies);
  if (!withoutDefaultPolicy) copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  if (extraPolicy) writeFileSync(path.join(policies, 'extra.yaml'), extraPolicy);
  writeFileSync(
    path.join(dir, 'gatehouse.yaml'),
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0", mysql: "127.0.0.1:0" }',
      'public_url: http://gatehouse.test',
      'store: memory://',
      `policies: ${policies}`,
      'issuers: [{ issuer: dev }]',
      'connections:',
      '  app-db:',
      '    type: mysql',
      `    url: ${target.url}`,
      `    password: ${target.password}`,
      `    audit: ${audit}`,
      'static_tokens:',
      `  - { name: ci, token: ${MYSQL_TEST_TOKEN}, connections: [app-db], claims: { repository: acme/app, actor: ci-bot } }`,
    ].join('\n'),
  );
  const logs: string[] = [];
  const gateway = await startGateway(loadConfig(path.join(dir, 'gatehouse.yaml')), { log: (m) => logs.push(m) });
  return { ...gateway, logs, mysqlPort: gateway.ports.mysql! };
}
