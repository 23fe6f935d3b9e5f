import { createContentMasker, type ContentMasker } from '../../content/detectors.ts';
import { compileMaskingConfig, type MaskingConfig, type MaskingPolicySection } from '../../masking/masking-config.ts';
import { decodeErr, encodeErr } from '../codec/responses.ts';
import type { MysqlConnectionConfig } from '../mysql-config.ts';
import type { MysqlStatementAnalysis } from '../sql/mysql-analysis.ts';
import { resultGroups } from '../../sql/statement-analysis.ts';
import type { MysqlGate, MysqlRequest, MysqlResultFilter, MysqlVerdict } from '../mysql-gate.ts';
import { columnMask } from './column-masks.ts';
import type { MysqlCatalog } from './mysql-catalog.ts';
import { MysqlRowMasker } from './row-masker.ts';
import { contentOnlyPlan, planStatements, type StatementPlan } from './statement-plan.ts';

/** Connects the policy's `masking:` sections to the MySQL adapter's seams, one catalog per connection. */
export interface MysqlMaskingWiring {
  /** `onDeny` hears of every command masking refuses (for the audit trail). */
  forClient(
    connection: MysqlConnectionConfig,
    gate: MysqlGate,
    onDeny: (request: MysqlRequest, reason: string) => void,
  ): { gate: MysqlGate; filter?: MysqlResultFilter };
  close(): void;
}

interface PerConnection {
  config: MaskingConfig;
  content: ContentMasker;
  catalog?: MysqlCatalog;
}

/** The rule id of a command refused because masking cannot follow its data (as on PostgreSQL). */
export const MASKING_RULE = 'masking';

/** The message of an error of a statement that touched masked data: the server's can quote the values. */
export const HIDDEN_ERROR =
  "gatehouse: the statement read masked data, so the server's error message is hidden (the code and SQLSTATE are the server's)";

export function createMysqlMaskingWiring(
  sections: readonly MaskingPolicySection[],
  catalogFor: (connection: MysqlConnectionConfig) => MysqlCatalog,
): MysqlMaskingWiring {
  const compiled = new Map<string, PerConnection | null>();
  function forConnection(connection: MysqlConnectionConfig): PerConnection | null {
    if (compiled.has(connection.name)) return compiled.get(connection.name)!;
    const config = compileMaskingConfig(sections, connection.name);
    const content = createContentMasker({ detectors: config.detectors, customDetectors: config.customDetectors });
    let entry: PerConnection | null = null;
    if (config.hasColumnRules) entry = { config, content, catalog: catalogFor(connection) };
    else if (content.active) entry = { config, content };
    compiled.set(connection.name, entry);
    return entry;
  }
  return {
    forClient(connection, gate, onDeny) {
      const entry = forConnection(connection);
      return entry ? maskingSession(entry, gate, onDeny) : { gate };
    },
    close() {
      compiled.clear();
    },
  };
}

/**
 * The plans in the order of the result sets the server sends: a compound statement's analyses
 * are one server statement (all masked whole), and a CALL's procedure can send any number of
 * result sets, so a request with a CALL masks every column whole.
 */
function byResultSet(statements: readonly MysqlStatementAnalysis[], planned: StatementPlan[]): StatementPlan[] {
  if (statements.some((s) => s.command === 'CALL')) return planned.map((p) => ({ ...p, maskAll: true }));
  const out: StatementPlan[] = [];
  let i = 0;
  for (const group of resultGroups(statements)) {
    const plan = planned[i]!;
    out.push(group.length > 1 ? { ...plan, maskAll: true } : plan);
    i += group.length;
  }
  return out;
}

function maskingSession(
  entry: PerConnection,
  inner: MysqlGate,
  onDeny: (request: MysqlRequest, reason: string) => void,
): { gate: MysqlGate; filter: MysqlResultFilter } {
  const plans = new WeakMap<object, StatementPlan[]>();
  const session = { touched: false };
  const { config, content, catalog } = entry;
  const gate: MysqlGate = {
    async check(request, control) {
      if (!catalog) plans.set(request.statements, request.statements.map(contentOnlyPlan));
      if (catalog) {
        let planned: StatementPlan[];
        try {
          planned = await planStatements({ config, catalog }, request.statements, control.mode, session);
        } catch (error) {
          return refuse(request, `masking could not plan the statement: ${(error as Error).message}`);
        }
        const denied = planned.find((p) => p.deny);
        if (denied) return refuse(request, denied.deny!);
        plans.set(request.statements, byResultSet(request.statements, planned));
      }
      return inner.check(request, control);
    },
    executed(result) {
      if (result.request.statements.some((s) => s.kind === 'ddl')) catalog?.invalidate();
      inner.executed(result);
    },
    close: (reason) => inner.close(reason),
  };
  function refuse(request: MysqlRequest, reason: string): MysqlVerdict {
    onDeny(request, reason);
    return {
      forward: false,
      code: 1142,
      sqlState: '42000',
      message: `gatehouse: denied by rule "${MASKING_RULE}": ${reason}`,
    };
  }
  const filter: MysqlResultFilter = {
    describe(request, index, columns, binary) {
      const plan = request ? plans.get(request.statements)?.[index] : undefined;
      const masks = columns.map((c) => columnMask(config, plan, c, content.active));
      return new MysqlRowMasker(columns, masks, content, binary);
    },
    error(request, payload) {
      const err = decodeErr(payload);
      const planned = request ? plans.get(request.statements) : undefined;
      const touched = planned?.some((p) => p.mentionsMasked || [...p.tables.values()].some((t) => t.masked));
      const message = touched ? HIDDEN_ERROR : content.active ? content.maskText(err.message).text : err.message;
      return message === err.message ? payload : encodeErr({ ...err, message });
    },
  };
  return { gate, filter };
}
