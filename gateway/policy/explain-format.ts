import { flagsOf } from '../sql/statement-analysis.ts';
import type { Evaluation } from './facts/fact-namespace.ts';
import type { Decision } from './actions-and-decisions.ts';

/** What `gatehouse policy explain --json` prints: stable snake_case keys for scripts. */
export interface ExplainReport {
  connection: string;
  identity_rule: string | null;
  decision: Decision;
  statements: {
    text: string;
    kind: string;
    command: string;
    tables_read: readonly string[];
    tables_written: readonly string[];
    functions: readonly string[];
    dangerous_functions: readonly string[];
    flags: string[];
    unknown_reason?: string;
    decision: Decision;
  }[];
}

export function explainReport(
  evaluation: Evaluation,
  connection: string,
  identityRule: string | undefined,
): ExplainReport {
  return {
    connection,
    identity_rule: identityRule ?? null,
    decision: evaluation.decision,
    statements: evaluation.statements.map(({ statement, decision }) => ({
      text: statement.text,
      kind: statement.kind,
      command: statement.command,
      tables_read: statement.tablesRead,
      tables_written: statement.tablesWritten,
      functions: statement.functions,
      dangerous_functions: statement.dangerousFunctions,
      flags: flagsOf(statement),
      ...(statement.unknownReason ? { unknown_reason: statement.unknownReason } : {}),
      decision,
    })),
  };
}

function list(values: readonly string[]): string {
  return values.length > 0 ? values.join(', ') : '-';
}

function describeDecision(decision: Decision): string {
  const review = decision.review
    ? ` (timeout ${decision.review.timeoutSeconds}s, ${decision.review.approvals} approval(s) with ${decision.review.minPermission} permission${decision.review.teams.length ? ` or team ${decision.review.teams.join(', ')}` : ''})`
    : '';
  return `${decision.action.toUpperCase()} by rule '${decision.rule}': ${decision.reason}${review}`;
}

/** Human-readable form of an {@link ExplainReport}. */
export function formatExplainReport(report: ExplainReport): string {
  const lines = [`connection: ${report.connection}`, `identity rule: ${report.identity_rule ?? '(none matched)'}`, ''];
  report.statements.forEach((s, index) => {
    lines.push(`statement ${index + 1}: ${s.text.length > 120 ? `${s.text.slice(0, 117)}...` : s.text}`);
    lines.push(`  kind: ${s.kind}   command: ${s.command}`);
    if (s.unknown_reason) lines.push(`  why unknown: ${s.unknown_reason}`);
    lines.push(`  tables read: ${list(s.tables_read)}   written: ${list(s.tables_written)}`);
    lines.push(
      `  functions: ${list(s.functions)}${s.dangerous_functions.length ? `   dangerous: ${list(s.dangerous_functions)}` : ''}`,
    );
    lines.push(`  flags: ${list(s.flags)}`);
    lines.push(`  => ${describeDecision(s.decision)}`);
    lines.push('');
  });
  lines.push(`decision: ${describeDecision(report.decision)}`);
  return `${lines.join('\n')}\n`;
}
