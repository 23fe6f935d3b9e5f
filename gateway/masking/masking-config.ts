import picomatch from 'picomatch';
import {
  compileCustomDetector,
  detectorName,
  type CustomDetector,
  type DetectorName,
} from '../content/detector-config.ts';
import { MAX_KEEP_LAST } from '../content/redaction.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';

/** One `masking:` entry of a policy file, as written (snake_case), before compilation. */
export interface MaskingPolicySection {
  connections?: readonly string[];
  columns?: readonly { column: string; keep_last?: number }[];
  detectors?: readonly string[];
  custom_detectors?: readonly { name: string; pattern: string }[];
  predicates?: 'deny' | 'confirm';
}

/**
 * Everything masking needs for one connection, merged from every policy section that applies
 * to it, so the data path never re-reads policy.
 */
export interface MaskingConfig {
  /** True when `schema.table.column` is masked; returns the characters that may stay visible. */
  columnRule(schema: string, table: string, column: string): { keepLast: number } | null;
  detectors: readonly DetectorName[];
  customDetectors: readonly CustomDetector[];
  /** Whether any column rule exists: with none, statements need no taint analysis. */
  hasColumnRules: boolean;
  /**
   * `confirm`: a masked column may be compared with values the client holds (`col = $1`,
   * `col IN (...)`, `col IS NULL`) in WHERE and JOIN ON. Set only when some applicable section asks
   * for it and none says `deny`, so adding a policy file never relaxes masking.
   */
  predicates: 'deny' | 'confirm';
}

interface CompiledColumnRule {
  match: (name: string) => boolean;
  keepLast: number;
}

/**
 * Merges the masking sections that apply to `connection` into one {@link MaskingConfig}.
 * Throws a GatehouseError naming the bad entry when a rule or pattern is invalid.
 */
export function compileMaskingConfig(sections: readonly MaskingPolicySection[], connection: string): MaskingConfig {
  const rules: CompiledColumnRule[] = [];
  const detectors = new Set<DetectorName>();
  const custom: CustomDetector[] = [];
  const predicates = new Set<string>();
  sections.forEach((section, index) => {
    const connections = section.connections ?? ['*'];
    if (!connections.some((glob) => picomatch.isMatch(connection, glob))) return;
    if (section.predicates) predicates.add(section.predicates);
    for (const rule of section.columns ?? []) rules.push(compileColumnRule(rule, index));
    for (const name of section.detectors ?? []) detectors.add(detectorName(name, `masking[${index}].detectors`));
    for (const entry of section.custom_detectors ?? [])
      custom.push(compileCustomDetector(entry, `masking[${index}].custom_detectors`));
  });
  return {
    columnRule(schema, table, column) {
      const name = `${schema}.${table}.${column}`;
      let keep: number | null = null;
      for (const rule of rules)
        if (rule.match(name)) keep = keep === null ? rule.keepLast : Math.min(keep, rule.keepLast);
      return keep === null ? null : { keepLast: keep };
    },
    detectors: [...detectors],
    customDetectors: custom,
    hasColumnRules: rules.length > 0,
    predicates: predicates.has('confirm') && !predicates.has('deny') ? 'confirm' : 'deny',
  };
}

function compileColumnRule(rule: { column: string; keep_last?: number }, index: number): CompiledColumnRule {
  const parts = rule.column.split('.');
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new GatehouseError(
      'masking.bad-column',
      `masking[${index}].columns: "${rule.column}" is not a column name; write schema.table.column (globs allowed)`,
    );
  }
  while (parts.length < 3) parts.unshift('*');
  const keepLast = rule.keep_last ?? 0;
  if (!Number.isInteger(keepLast) || keepLast < 0 || keepLast > MAX_KEEP_LAST) {
    throw new GatehouseError(
      'masking.bad-keep-last',
      `masking[${index}].columns: keep_last of "${rule.column}" must be a whole number from 0 to ${MAX_KEEP_LAST}`,
    );
  }
  const matcher = picomatch(parts.join('.'), { dot: true });
  return { match: (name) => matcher(name), keepLast };
}
