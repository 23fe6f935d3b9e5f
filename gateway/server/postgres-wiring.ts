import type { ApprovalBroker } from '../approvals/broker.ts';
import type { Recorder } from '../audit/recorder.ts';
import type { GatehouseConfig, PostgresConnectionConfig } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { ContentMasker } from '../masking/detectors.ts';
import { createMaskingWiring } from '../masking/masking-wiring.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { Policy } from '../policy/policy-types.ts';
import { createPolicyGate } from '../postgres/policy-gate.ts';
import type { ResultFilter, StatementGate } from '../postgres/statement-gate.ts';
import { createAnalysisCache } from '../sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../sql/connection-analyzer.ts';
import { createTargetResolutions } from '../sql/target-resolution.ts';
import type { GatewayMetrics } from './metrics.ts';

/** The gateway's shared parts the PostgreSQL side is built from, passed in by `startGateway`, the only place they meet. */
export interface PostgresWiringDeps {
  config: GatehouseConfig;
  engine: PolicyEngine;
  policy: Policy;
  recorder: Recorder;
  broker: ApprovalBroker;
  metrics: GatewayMetrics;
  /** Each connection's content masker (see `content-maskers.ts`), for statement texts in the audit log. */
  contentMaskerFor: (connection: string) => ContentMasker;
  log: (message: string) => void;
}

/**
 * Builds, per PostgreSQL connection, the statement gate (analysis, policy, approvals, audit)
 * and the result filter (masking). Per-connection settings are compiled once per connection
 * name, not per client.
 */
export function createPostgresWiring(deps: PostgresWiringDeps): {
  createGate(session: SessionContext, connection: PostgresConnectionConfig): StatementGate;
  createFilter(session: SessionContext, connection: PostgresConnectionConfig): ResultFilter | undefined;
  /** Closes the masking metadata connections. */
  close(): Promise<void>;
} {
  const cache = createAnalysisCache();
  const textMaskers = new Map<string, (text: string) => string>();
  const masking = createMaskingWiring({ sections: deps.policy.masking });
  const targets = createTargetResolutions({ cache, log: deps.log });

  function textMaskerFor(connection: string): (text: string) => string {
    let masker = textMaskers.get(connection);
    if (!masker) {
      const content = deps.contentMaskerFor(connection);
      masker = content.active ? (text: string) => content.maskText(text).text : (text: string) => text;
      textMaskers.set(connection, masker);
    }
    return masker;
  }

  return {
    createGate(session, connection) {
      const target = targets.of(connection);
      const gate = createPolicyGate({
        session,
        connection,
        analyzer: createConnectionAnalyzer({ maxStatementBytes: deps.config.limits.maxStatementBytes, cache }),
        resolver: target.resolver,
        catalogChanged: () => target.catalog.invalidate(),
        engine: deps.engine,
        recorder: deps.recorder,
        broker: deps.broker,
        maskText: textMaskerFor(connection.name),
        counted: (decision) => deps.metrics.statements.inc({ protocol: 'postgres', decision }),
        log: deps.log,
      });
      return masking.wrapGate(connection, gate, (handle, reason) => {
        const sql = (handle as { sql?: string }).sql ?? '';
        deps.recorder
          .record(session.sessionId, 'statement', {
            connection: connection.name,
            text: textMaskerFor(connection.name)(sql),
            decision: 'deny',
            rule: 'masking',
            reason,
          })
          .catch((error: Error) => deps.log(`audit of a masking denial failed: ${error.message}`));
      });
    },
    createFilter(_session, connection) {
      return masking.filterFor(connection);
    },
    async close() {
      await Promise.all([masking.close(), targets.close()]);
    },
  };
}
