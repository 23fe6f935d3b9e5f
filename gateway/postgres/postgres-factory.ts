import type { AdapterDeps, AdapterFactory } from '../enforcement/adapter-contract.ts';
import type { EnforcementContext } from '../enforcement/enforcer.ts';
import type { Identity } from '../policy/actions-and-decisions.ts';
import { REFUSAL, refused } from '../enforcement/verdict.ts';
import { createMaskingWiring } from '../masking/masking-wiring.ts';
import type { MaskingPolicySection } from '../masking/masking-config.ts';
import { createAnalysisCache } from '../sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../sql/connection-analyzer.ts';
import { parserForServer, sqlParser } from '../sql/sql-parser.ts';
import { createTargetResolutions } from '../sql/target-resolution.ts';
import type { PostgresConnectionConfig } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import { createPostgresAdapter, type ClientSide } from './postgres-adapter.ts';
import { postgresConnectionType } from './postgres-connection.ts';
import type { EffectiveLimits } from '../policy/blast-limits.ts';
import { BlastMeter, SessionTallies } from './blast-meter.ts';
import { readApproval } from './read-approval.ts';
import { createWriteEstimator, type WriteEstimator } from './write-estimator.ts';
import { type PgStatement, createQueryGate } from './query-gate.ts';
import { syntaxErrorOf } from './syntax-error.ts';

/** The rule id of a statement refused because masking cannot follow its data. */
const MASKING_RULE = 'masking';

/**
 * Builds the PostgreSQL adapter from the shared parts: per client connection a query gate on the
 * enforcement core, wrapped by the connection's masking session with its result filter.
 * `maskingSections` are the policy's `masking:` entries.
 */
export function postgresAdapterFactory(
  maskingSections: readonly MaskingPolicySection[],
  targetSession: TargetSessionRules = { readOnly: () => false },
): AdapterFactory {
  return {
    type: postgresConnectionType.type,
    configSchema: postgresConnectionType.schema,
    create: (deps) => buildPostgresAdapter(deps, maskingSections, targetSession),
  };
}

/** What policy says about the target session itself, decided per connection and identity. */
export interface TargetSessionRules {
  /** The policy allows only reads: the target session runs read-only (the server enforces it too). */
  readOnly(connection: string, identity: Identity): boolean;
  /** The `limits:` bounds on what the session may read or change; undefined when none applies. */
  limits?(connection: string, identity: Identity): EffectiveLimits | undefined;
}

/** A read-only session: every transaction defaults to READ ONLY, set at startup (RESET and DISCARD ALL return to it). */
const READ_ONLY_SESSION = Object.freeze({ default_transaction_read_only: 'on' });

/** What every client connection of the adapter shares. */
interface Shared {
  deps: AdapterDeps;
  targetSession: TargetSessionRules;
  cache: ReturnType<typeof createAnalysisCache>;
  masking: ReturnType<typeof createMaskingWiring>;
  targets: ReturnType<typeof createTargetResolutions>;
  tallies: SessionTallies;
  estimatorFor(connection: PostgresConnectionConfig): WriteEstimator;
  textMaskerFor(connection: string): (text: string) => string;
}

function buildPostgresAdapter(
  deps: AdapterDeps,
  maskingSections: readonly MaskingPolicySection[],
  targetSession: TargetSessionRules,
) {
  const cache = createAnalysisCache();
  const textMaskers = new Map<string, (text: string) => string>();
  const masking = createMaskingWiring({ sections: maskingSections });
  const targets = createTargetResolutions({ cache, log: deps.log });
  const textMaskerFor = (connection: string): ((text: string) => string) => {
    let masker = textMaskers.get(connection);
    if (!masker) {
      const content = deps.contentMasker(connection);
      masker = content.active ? (text: string) => content.maskText(text).text : (text: string) => text;
      textMaskers.set(connection, masker);
    }
    return masker;
  };
  const estimators = new Map<string, WriteEstimator>();
  const estimatorFor = (connection: PostgresConnectionConfig): WriteEstimator => {
    let estimator = estimators.get(connection.name);
    if (!estimator) estimators.set(connection.name, (estimator = createWriteEstimator(connection)));
    return estimator;
  };
  const tallies = new SessionTallies();
  const shared: Shared = { deps, targetSession, cache, masking, targets, tallies, estimatorFor, textMaskerFor };
  return createPostgresAdapter({
    config: deps.config,
    authenticate: (token) => deps.sessions.authenticate(token),
    live: deps.sessions.live,
    clock: deps.clock,
    metrics: deps.metrics,
    log: deps.log,
    close: async () => {
      await Promise.all([masking.close(), targets.close(), ...[...estimators.values()].map((e) => e.close())]);
    },
    openClient: (session, connection) => openClient(shared, session, connection),
  });
}

/**
 * One client connection: its query gate (with the target's resolver and, once the target reported
 * its version, that version's grammar), wrapped by masking; read-only when the policy allows only reads.
 */
function openClient(shared: Shared, session: SessionContext, connection: PostgresConnectionConfig): ClientSide {
  const { deps, masking } = shared;
  const context: EnforcementContext = { session, connection, protocol: postgresConnectionType.type };
  const target = shared.targets.of(connection);
  const readOnly = shared.targetSession.readOnly(connection.name, session.identity);
  let parser = sqlParser();
  const limits = shared.targetSession.limits?.(connection.name, session.identity);
  const tally = limits && shared.tallies.of(session.sessionId, session.expiresAt);
  const meter = limits && new BlastMeter(limits, tally!, readApproval(context, deps.enforcer));
  const gate = createQueryGate({
    context,
    enforcer: deps.enforcer,
    analyzer: createConnectionAnalyzer({
      maxStatementBytes: deps.config.limits.maxStatementBytes,
      cache: shared.cache,
      parser: () => parser,
    }),
    resolver: target.resolver,
    catalogChanged: () => {
      target.catalog.invalidate();
      if (limits) shared.estimatorFor(connection).invalidate();
    },
    readOnly,
    ...(limits && meter ? { bounds: { limits, meter, estimator: shared.estimatorFor(connection) } } : {}),
    maskText: shared.textMaskerFor(connection.name),
    // The analysis did not parse statements over the limit; neither is the answer parsed for them.
    syntaxError: (sql) =>
      Buffer.byteLength(sql) > deps.config.limits.maxStatementBytes ? undefined : syntaxErrorOf(parser, sql),
    log: deps.log,
  });
  const side = masking.forClient(connection, gate, (handle, reason) => {
    const statement = handle as PgStatement;
    const denial = refused(REFUSAL.denied, { action: 'deny', rule: MASKING_RULE, reason });
    void deps.enforcer.commit(context, denial, statement.event());
  });
  const targetReady = (parameters: ReadonlyMap<string, string>) => {
    const found = parserForServer(parameters.get('server_version'));
    if ('problem' in found) return found.problem;
    parser = found;
    target.useParser(found);
    masking.useParser(connection, found);
    return null;
  };
  return {
    ...side,
    targetReady,
    ...(meter ? { meter } : {}),
    ...(readOnly ? { targetParameters: READ_ONLY_SESSION } : {}),
  };
}
