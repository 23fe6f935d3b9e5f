import type { AdapterDeps, AdapterFactory } from '../enforcement/adapter-contract.ts';
import type { EnforcementContext } from '../enforcement/enforcer.ts';
import { createMysqlAdapter } from './mysql-adapter.ts';
import type { MysqlConnectionConfig } from './mysql-config.ts';
import { mysqlConnectionType } from './mysql-connection.ts';
import { createMysqlQueryGate } from './mysql-query-gate.ts';
import { loadMysqlGrammar } from './sql/grammar.ts';

/** Builds the MySQL adapter from the shared parts: per client connection a query gate on the enforcement core. */
export const mysqlAdapterFactory: AdapterFactory = {
  type: mysqlConnectionType.type,
  configSchema: mysqlConnectionType.schema,
  create: async (deps) => {
    await loadMysqlGrammar();
    return buildMysqlAdapter(deps);
  },
};

function buildMysqlAdapter(deps: AdapterDeps) {
  const connections: Record<string, MysqlConnectionConfig> = {};
  for (const [name, c] of Object.entries(deps.config.connections)) if (c.type === 'mysql') connections[name] = c;
  const textMaskers = new Map<string, (text: string) => string>();
  const textMaskerFor = (connection: string) => {
    let masker = textMaskers.get(connection);
    if (!masker) {
      const content = deps.contentMasker(connection);
      masker = content.active ? (text: string) => content.maskText(text).text : (text: string) => text;
      textMaskers.set(connection, masker);
    }
    return masker;
  };
  return createMysqlAdapter({
    connections,
    tls: deps.config.tls ? { cert: deps.config.tls.cert, key: deps.config.tls.key } : undefined,
    limits: deps.config.limits,
    listenAddress: deps.config.listen.mysql,
    authenticate: (token) => deps.sessions.authenticate(token),
    live: deps.sessions.live,
    log: deps.log,
    openClient(session, connection) {
      const context: EnforcementContext = { session, connection, protocol: mysqlConnectionType.type };
      return {
        gate: createMysqlQueryGate({
          context,
          enforcer: deps.enforcer,
          maskText: textMaskerFor(connection.name),
          log: deps.log,
        }),
      };
    },
  });
}
