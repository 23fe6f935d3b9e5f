import { approveCommandFor, type ApprovalRequestedMessage, type SessionLog } from '../wire/approvals.ts';
import type { AuditEventWire } from '../wire/audit-events.ts';

/** GitHub's limit for a check run's summary and text. */
export const CHECK_OUTPUT_LIMIT = 65_535;

/** Fences text so nothing in it (backticks, mentions, HTML) renders as markup. */
export function fence(text: string, language = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${language}\n${text}\n${ticks}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/@/g, '@\u200b');
}

/** The pull request comment announcing a held statement and how to answer it. */
export function requestComment(request: ApprovalRequestedMessage): string {
  const need =
    request.policy.approvals > 1 ? `${request.policy.approvals} approvals from different people` : 'one approval';
  const who = [
    `repository permission **${request.policy.minPermission}** or higher`,
    ...request.policy.teams.map((t) => `team \`${t}\``),
  ].join(', or ');
  return [
    `### Gatehouse: a statement is waiting for approval`,
    '',
    `| | |`,
    `|---|---|`,
    `| Connection | \`${cell(request.connection)}\` |`,
    `| Rule | \`${cell(request.rule)}\`: ${cell(request.reason)} |`,
    `| Requested by | ${cell(request.binding.actor)} (run ${cell(request.binding.runId)}, attempt ${cell(request.binding.runAttempt)}, commit \`${request.binding.sha.slice(0, 7)}\`) |`,
    `| Expires | ${request.expiresAt} |`,
    '',
    fence(request.statement, 'sql'),
    '',
    `Needs ${need} by someone with ${who}; the job's own actors and the pull request's author cannot approve.`,
    '',
    `Answer with a comment containing exactly one of:`,
    fence(`${approveCommandFor(request.id)}\n/gatehouse deny ${request.id} <reason>`),
    `or use the **Approve** / **Deny** buttons on the check run.`,
  ].join('\n');
}

/** The check run output shown next to the Approve / Deny buttons. */
export function requestCheckOutput(request: ApprovalRequestedMessage): {
  title: string;
  summary: string;
  text: string;
} {
  return {
    title: `Approval needed: ${request.connection} (${request.rule})`,
    summary: `A statement on \`${request.connection}\` is held by rule \`${request.rule}\` until someone approves it or ${request.expiresAt}.\n\nApprove with \`${approveCommandFor(request.id)}\` on the pull request or the buttons above.`,
    text: fence(request.statement, 'sql'),
  };
}

/** Counts of a session's commands by decision, for the audit check run's summary table. */
export interface SessionSummary {
  commands: number;
  allowed: number;
  denied: number;
  reviewed: number;
}

const COMMAND_EVENTS: readonly string[] = ['statement', 'ssh.exec', 'http.request'];

/** Counts the commands of a log by the final decision; `reviewed` counts those held for an approval, whatever it said. */
export function summarize(log: SessionLog): SessionSummary {
  const commands = log.events.filter((e) => COMMAND_EVENTS.includes(e.type));
  const count = (d: string): number => commands.filter((e) => e.data.decision === d).length;
  const reviewed = commands.filter((e) => e.data.decision === 'review' || e.data.approval_id !== undefined).length;
  return { commands: commands.length, allowed: count('allow'), denied: count('deny'), reviewed };
}

function logLine(event: AuditEventWire): string | null {
  const d = event.data;
  const text = (v: unknown): string =>
    typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
  switch (event.type) {
    case 'session.start':
      return `${event.at} session started (${text(d.identity_rule)})`;
    case 'statement':
    case 'ssh.exec':
      return `${event.at} ${text(d.connection)} ${text(d.decision).toUpperCase()} rule=${text(d.rule)}\n  ${text(d.text ?? d.command).replace(/\r?\n/g, '\n  ')}`;
    case 'http.request':
      return `${event.at} ${text(d.connection)} ${text(d.decision).toUpperCase()} rule=${text(d.rule)}\n  ${text(d.method)} ${text(d.path)}${d.query ? `?${text(d.query)}` : ''}${d.upgrade ? ` (${text(d.upgrade)})` : ''}`;
    case 'http.response':
      return `${event.at}   -> ${text(d.status)} ${text(d.response_bytes ?? 0)} bytes in ${text(d.duration_ms)} ms${d.masked_values || d.masked_fields ? `, ${Number(d.masked_fields ?? 0) + Number(d.masked_values ?? 0)} masked` : ''}${d.error ? ` (${text(d.error)})` : ''}`;
    case 'statement.result':
      return `${event.at}   -> ${d.error ? `error ${text(d.sqlstate)} ${text(d.error)}` : `${text(d.rows ?? 0)} rows`} in ${text(d.duration_ms)} ms`;
    case 'approval.requested':
      return `${event.at}   held for approval ${text(d.approval_id)}`;
    case 'approval.decided':
      return `${event.at}   approval ${text(d.approval_id)} ${text(d.status)}${Array.isArray(d.decided_by) && d.decided_by.length ? ` by ${d.decided_by.join(', ')}` : ''}`;
    case 'session.end':
      return `${event.at} session ended (${text(d.reason)})`;
    default:
      return null;
  }
}

/** The audit check run output of one session: a summary table, then the masked log, cut to GitHub's limit. */
export function auditCheckOutput(
  log: SessionLog,
  connections: string[],
  logUrl: string,
): { title: string; summary: string; text: string } {
  const s = summarize(log);
  const summary = [
    `| Session | Connections | Commands | Allowed | Denied | Reviewed | Sealed |`,
    `|---|---|---|---|---|---|---|`,
    `| \`${cell(log.session_id)}\` | ${cell(connections.join(', '))} | ${s.commands} | ${s.allowed} | ${s.denied} | ${s.reviewed} | ${log.sealed ? 'yes' : 'no'} |`,
    '',
    finalHashLine(log),
    '',
    `Full masked log: ${logUrl}`,
  ].join('\n');
  const lines = log.events.map(logLine).filter((l): l is string => l !== null);
  return {
    title: s.denied > 0 ? `${s.denied} of ${s.commands} commands denied` : `${s.commands} commands, none denied`,
    summary,
    text: truncateLog(lines.join('\n'), logUrl),
  };
}

/**
 * The session's final audit hash, kept here on the commit, outside the gateway: checking the
 * gateway's store against it later catches a log its owner rewrote.
 */
function finalHashLine(log: SessionLog): string {
  const hash = typeof log.final_hash === 'string' && /^[0-9a-f]{64}$/.test(log.final_hash) ? log.final_hash : null;
  if (!hash) return '_No final audit hash: not every chain of this session was sealed when the job ended._';
  return `Final audit hash: \`${hash}\` — check the stored log against it with \`gatehouse audit verify ${cell(log.session_id)} --expect ${hash}\``;
}

/** Keeps the fenced log within {@link CHECK_OUTPUT_LIMIT}, ending with a pointer to the full log. */
export function truncateLog(log: string, logUrl: string): string {
  const whole = fence(log, 'text');
  if (whole.length <= CHECK_OUTPUT_LIMIT) return whole;
  const tail = `\n\n_Log truncated; the full masked log is at ${logUrl}_`;
  const overhead = fence('', 'text').length + tail.length + 1;
  let cut = log.slice(0, CHECK_OUTPUT_LIMIT - overhead - 16);
  const lastNewline = cut.lastIndexOf('\n');
  if (lastNewline > 0) cut = cut.slice(0, lastNewline);
  const fenced = fence(`${cut}\n…`, 'text');
  return `${fenced}${tail}`.slice(0, CHECK_OUTPUT_LIMIT);
}
