import type { SessionLog } from './gateway-api.ts';

/** One command of a session as the summary shows it. */
export interface SummaryRow {
  connection: string;
  statement: string;
  decision: string;
  rule: string;
  rows: number | undefined;
  masked: number;
}

/** Per-session totals, the first thing a reviewer reads. */
export interface SummaryTotals {
  statements: number;
  decisions: Record<string, number>;
  rows: number;
  masked: number;
}

const MAX_ROWS = 200;
const MAX_TEXT = 120;

/**
 * Reads the command events of a masked session log (`wire/audit-events.ts`): a `statement`,
 * `ssh.exec`, `http.request` or `k8s.request` (its kubectl-like line) opens a row; the `statement.result` / `ssh.exit` / `http.response`
 * that follows (matched by `statement_seq` when given, else the latest open row) fills its counts.
 * Older or foreign shapes with the fields on the event itself are read too.
 */
export function summaryRows(log: SessionLog): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const bySeq = new Map<string, SummaryRow>();
  const open: SummaryRow[] = [];
  for (const event of log.events) {
    const type = text(event.type) ?? '';
    const data = { ...event, ...(asRecord(event.data) ?? {}) };
    if (type === 'statement.result' || type === 'ssh.exit' || type === 'http.response') {
      const seq = num(data.statement_seq) ?? num(data.command_seq);
      const row = (seq !== undefined ? bySeq.get(seqKey(event, seq)) : undefined) ?? open.at(-1);
      if (row) {
        open.splice(open.lastIndexOf(row), 1);
        row.rows = num(data.rows) ?? row.rows;
        row.masked += num(data.masked_values) ?? 0;
      }
      continue;
    }
    const command =
      text(data.text) ?? text(data.statement) ?? text(data.sql) ?? text(data.command) ?? httpLine(type, data);
    if (
      command === undefined ||
      type.startsWith('session.') ||
      type.startsWith('approval.') ||
      type === 'seal' ||
      type === 'result.sample'
    )
      continue;
    const decision = asRecord(data.decision);
    const row: SummaryRow = {
      connection: text(data.connection) ?? '',
      statement: command,
      decision: text(data.decision) ?? text(decision?.action) ?? 'unknown',
      rule: text(data.rule) ?? text(decision?.rule) ?? '',
      rows: num(data.rows),
      masked: num(data.masked_values) ?? 0,
    };
    rows.push(row);
    open.push(row);
    const seq = num(event.seq);
    if (seq !== undefined) bySeq.set(seqKey(event, seq), row);
  }
  return rows;
}

/** Sequence numbers count per chain (one per gateway replica that served the session). */
function seqKey(event: Record<string, unknown>, seq: number): string {
  return `${text(event.chain) ?? ''}:${seq}`;
}

function httpLine(type: string, data: Record<string, unknown>): string | undefined {
  if (type === 'k8s.request') return text(data.shown);
  if (type !== 'http.request') return undefined;
  const method = text(data.method);
  const path = text(data.path) ?? text(data.url);
  return method && path ? `${method} ${path}` : undefined;
}

export function summaryTotals(rows: SummaryRow[]): SummaryTotals {
  const decisions: Record<string, number> = {};
  for (const row of rows) decisions[row.decision] = (decisions[row.decision] ?? 0) + 1;
  return {
    statements: rows.length,
    decisions,
    rows: rows.reduce((sum, row) => sum + (row.rows ?? 0), 0),
    masked: rows.reduce((sum, row) => sum + row.masked, 0),
  };
}

/** The job-summary markdown for one session: a totals line, then one table row per command. */
export function renderSessionSummary(sessionId: string, rows: SummaryRow[] | undefined, note?: string): string {
  if (rows === undefined) {
    return [
      `### Gatehouse session \`${cell(sessionId)}\``,
      '',
      `> ${cell(note ?? 'The session log was not available.')}`,
      '',
      `_See the full log on the gateway: \`gatehouse audit show ${cell(sessionId)}\`._`,
      '',
    ].join('\n');
  }
  const totals = summaryTotals(rows);
  const decisionText =
    Object.entries(totals.decisions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, count]) => `${count} ${name}`)
      .join(', ') || 'none';
  const lines = [
    `### Gatehouse session \`${cell(sessionId)}\``,
    '',
    `**${totals.statements}** statements (${decisionText}) · **${totals.rows}** rows · **${totals.masked}** masked values`,
    '',
  ];
  if (note) lines.push(`> ${cell(note)}`, '');
  if (rows.length === 0) {
    lines.push('_No statements were run in this session._', '');
    return lines.join('\n');
  }
  lines.push('| # | Connection | Statement | Decision | Rule | Rows | Masked |', '|---:|---|---|---|---|---:|---:|');
  rows.slice(0, MAX_ROWS).forEach((row, index) => {
    lines.push(
      `| ${index + 1} | ${cell(row.connection)} | \`${cell(shorten(row.statement)).replace(/`/g, "'")}\` | ${cell(row.decision)} | ${cell(row.rule)} | ${row.rows ?? ''} | ${row.masked} |`,
    );
  });
  if (rows.length > MAX_ROWS)
    lines.push(
      '',
      `_${rows.length - MAX_ROWS} more statements are in the full log: \`gatehouse audit show ${cell(sessionId)}\`._`,
    );
  lines.push('');
  return lines.join('\n');
}

/**
 * The session's final audit hash, published here, outside the gateway: whoever later doubts the
 * gateway's store can check it still holds exactly this log.
 */
export function renderFinalHash(sessionId: string, ended: string, finalHash: string | null): string {
  if (finalHash)
    return `Audit log final hash: \`${finalHash}\` — check the stored log against it with \`gatehouse audit verify ${cell(sessionId)} --expect ${finalHash}\`.\n`;
  if (ended !== 'ended') return '';
  return '_The gateway did not give the final audit hash in time; the audit check run on the commit carries it._\n';
}

function shorten(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat;
}

function cell(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
