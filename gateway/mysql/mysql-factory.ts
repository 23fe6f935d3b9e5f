import type { AdapterDeps, AdapterFactory } from '../enforcement/adapter-contract.ts';
import type { EnforcementContext } from '../enforcement/enforcer.ts';
import { createMysqlAdapter } from './mysql-adapter.ts';
import type { MysqlConnectionConfig } from './mysql-config.ts';
import { mysqlConnectionType } from './mysql-connection.ts';
import { createMysqlQueryGate } from './mysql-query-gate.ts';
import { loadMysqlGrammar } from './sql/grammar.ts';
import { createMysqlMaskingWiring, MASKING_RULE, type MysqlMaskingWiring } from './masking/mysql-masking.ts';
import type { MaskingPolicySection } from '../masking/masking-config.ts';
import { refused, REFUSAL } from '../enforcement/verdict.ts';
import { withResolvedCalls } from './call-gate.ts';
import { createMysqlCatalog, type MysqlCatalog } from './masking/mysql-catalog.ts';
import type { MysqlRequest } from './mysql-gate.ts';

/** The rule id of a CALL refused because its procedure does not resolve in the target. */
const CALL_RULE = 'unresolved-routine';

/**
 * Builds the MySQL adapter from the shared parts: per client connection a query gate on the
 * enforcement core, wrapped by the connection's masking (`maskingSections`: the policy's `masking:`).
 */
export function mysqlAdapterFactory(maskingSections: readonly MaskingPolicySection[]): AdapterFactory {
  return {
    type: mysqlConnectionType.type,
    configSchema: mysqlConnectionType.schema,
    create: async (deps) => {
      await loadMysqlGrammar();
      const catalogs = new Map<string, MysqlCatalog>();
      const catalogFor = (connection: MysqlConnectionConfig) => {
        let catalog = catalogs.get(connection.name);
        if (!catalog) catalogs.set(connection.name, (catalog = createMysqlCatalog(connection)));
        return catalog;
      };
      const adapter = buildMysqlAdapter(deps, createMysqlMaskingWiring(maskingSections, catalogFor), catalogFor);
      const close = adapter.close.bind(adapter);
      adapter.close = async () => {
        await close();
        for (const catalog of catalogs.values()) catalog.close();
      };
      return adapter;
    },
  };
}

function buildMysqlAdapter(
  deps: AdapterDeps,
  masking: MysqlMaskingWiring,
  catalogFor: (connection: MysqlConnectionConfig) => MysqlCatalog,
) {
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
  const adapter = createMysqlAdapter({
    connections,
    tls: deps.config.tls ? { cert: deps.config.tls.cert, key: deps.config.tls.key } : undefined,
    limits: deps.config.limits,
    listenAddress: deps.config.listen.mysql,
    authenticate: (token) => deps.sessions.authenticate(token),
    live: deps.sessions.live,
    log: deps.log,
    openClient(session, connection) {
      const context: EnforcementContext = { session, connection, protocol: mysqlConnectionType.type };
      const maskText = textMaskerFor(connection.name);
      const gate = createMysqlQueryGate({ context, enforcer: deps.enforcer, maskText, log: deps.log });
      const audited = (rule: string) => (request: MysqlRequest, reason: string) => {
        const denial = refused(REFUSAL.denied, { action: 'deny', rule, reason });
        const data = { connection: connection.name, text: maskText(request.sql) };
        void deps.enforcer.commit(context, denial, { type: 'statement', data });
      };
      const side = masking.forClient(connection, gate, audited(MASKING_RULE));
      return { ...side, gate: withResolvedCalls(side.gate, catalogFor(connection), audited(CALL_RULE)) };
    },
  });
  const close = adapter.close.bind(adapter);
  adapter.close = async () => {
    await close();
    masking.close();
  };
  return adapter;
}
