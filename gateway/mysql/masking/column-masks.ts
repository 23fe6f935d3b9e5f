import { maskContent, maskWhole, RAW, type ColumnMask } from '../../masking/column-mask.ts';
import type { MaskingConfig } from '../../masking/masking-config.ts';
import type { ColumnDefinition } from '../codec/column-definition.ts';
import type { StatementPlan } from './statement-plan.ts';

/**
 * The mask of one result column. The server's origin (schema, org_table, org_name) decides
 * only for a plain SELECT and only when it names a base table or view the statement names;
 * a column without such an origin (an expression, a UNION, a derived table, a CTE) is masked
 * whole when the statement could reach masked data, and with `detectors` on when it was
 * computed by a function that could hide free text from them.
 */
export function columnMask(
  config: MaskingConfig,
  plan: StatementPlan | undefined,
  column: ColumnDefinition,
  detectors: boolean,
): ColumnMask {
  if (!plan) return config.hasColumnRules ? maskWhole('a result the gateway did not plan') : RAW;
  if (plan.maskAll) return maskWhole('a statement whose columns the gateway cannot trace');
  const origin = trustedOrigin(plan, column);
  if (origin?.kind === 'view')
    return origin.masked
      ? maskWhole(`column ${column.orgName} of view ${origin.name} is computed from masked data`)
      : RAW;
  if (origin?.kind === 'column') {
    const rule = config.columnRule(origin.schema, origin.table, origin.column);
    return rule ? { kind: 'mask-column', keepLast: rule.keepLast, column: `${origin.table}.${origin.column}` } : RAW;
  }
  if (plan.mentionsMasked) return maskWhole(`column ${column.name} could be computed from masked data`);
  return detectors && plan.hidesText ? maskContent(`column ${column.name} could hide text from the detectors`) : RAW;
}

type Origin =
  { kind: 'view'; name: string; masked: boolean } | { kind: 'column'; schema: string; table: string; column: string };

function trustedOrigin(plan: StatementPlan, column: ColumnDefinition): Origin | undefined {
  if (!plan.plainSelect || !column.schema || !column.orgTable || !column.orgName) return undefined;
  const table = plan.tables.get(`${column.schema}.${column.orgTable}`.toLowerCase());
  if (!table) return undefined;
  if (table.type === 'VIEW')
    return { kind: 'view', name: table.name, masked: table.maskedColumns.has(column.orgName.toLowerCase()) };
  const name = table.columns.find((c) => c.toLowerCase() === column.orgName.toLowerCase());
  if (!name) return undefined;
  return { kind: 'column', schema: table.schema, table: table.name, column: name };
}
