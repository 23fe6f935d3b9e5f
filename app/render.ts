import type { ApprovalRequestedMessage, SessionLogResponse } from '../wire/approvals.ts';

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
  const need = request.policy.approvals > 1 ? `${request.policy.approvals} approvals from different people` : 'one approval';
  const who = [`repository permission **${request.policy.minPermission}** or higher`, ...request.policy.teams.map((t) => `team \`${t}\``)].join(', or ');
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
    fence(`/gatehouse approve ${request.id}\n/gatehouse deny ${request.id} <reason>`),
    `or use the **Approve** / **Deny** buttons on the check run.`,
  ].join('\n');
}

/** The check run output shown next to the Approve / Deny buttons. */
export function requestCheckOutput(request: ApprovalRequestedMessage): { title: string; summary: string; text: string } {
  return {
    title: `Approval needed: ${request.connection} (${request.rule})`,
    summary: `A statement on \`${request.connection}\` is held by rule \`${request.rule}\` until someone approves it or ${request.expiresAt}.\n\nApprove with \`/gatehouse approve ${request.id}\` on the pull request or the buttons above.`,
    text: fence(request.statement, 'sql'),
  };
}

export interface SessionSummary {
  commands: number;
  allowed: number;
  denied: number;
  reviewed: number;
}

export function summarize(log: SessionLogResponse): SessionSummary {
  const count = (d: string): number => log.entries.filter((e) => e.decision === d).length;
  return { commands: log.entries.length, allowed: count('allow'), denied: count('deny'), reviewed: count('review') };
}

/** The audit check run output of one session: a summary table, then the masked log, cut to GitHub's limit. */
export function auditCheckOutput(log: SessionLogResponse, logUrl: string): { title: string; summary: string; text: string } {
  const s = summarize(log);
  const summary = [
    `| Session | Connections | Commands | Allowed | Denied | Reviewed | Log verified |`,
    `|---|---|---|---|---|---|---|`,
    `| \`${cell(log.sessionId)}\` | ${cell(log.connections.join(', '))} | ${s.commands} | ${s.allowed} | ${s.denied} | ${s.reviewed} | ${log.verified ? 'yes' : '**no**'} |`,
    '',
    `Full log: ${logUrl}`,
  ].join('\n');
  const lines = log.entries.map((e) => {
    const extra = [e.rule ? `rule=${e.rule}` : '', e.rows === undefined ? '' : `rows=${e.rows}`, e.durationMs === undefined ? '' : `${e.durationMs}ms`, e.approvalId ? `approval=${e.approvalId}` : '']
      .filter(Boolean).join(' ');
    return `${e.at} ${e.connection} ${e.decision.toUpperCase()}${extra ? ` (${extra})` : ''}\n  ${e.command.replace(/\r?\n/g, '\n  ')}`;
  });
  return {
    title: s.denied > 0 ? `${s.denied} of ${s.commands} commands denied` : `${s.commands} commands, none denied`,
    summary,
    text: truncateLog(lines.join('\n'), logUrl),
  };
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
