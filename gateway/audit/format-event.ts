import type { AuditEventWire } from '../../wire/audit-events.ts';

/** The columns `gatehouse audit show` prints for one event (also usable for PR comment tables). */
export interface EventSummary {
  decision: string;
  rule: string;
  text: string;
  rows: string;
}

const MAX_TEXT = 160;

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat;
}

/** What an auditor scans for in one event: the decision, the rule, the command and the row count. */
export function summarizeEvent(event: AuditEventWire): EventSummary {
  const d = event.data;
  const base: EventSummary = { decision: '', rule: '', text: '', rows: '' };
  switch (event.type) {
    case 'session.start':
      return summarizeStart(d, base);
    case 'statement':
    case 'ssh.exec':
      return summarizeCommand(d, base);
    case 'http.request':
    case 'http.response':
      return summarizeHttp(event.type, d, base);
    case 'statement.result': {
      const parts = [
        `${str(d.duration_ms)}ms`,
        d.bytes !== undefined && `${str(d.bytes)}B`,
        d.masked_values ? `${str(d.masked_values)} masked` : '',
        d.sqlstate ? `error ${str(d.sqlstate)}` : '',
      ];
      return { ...base, rows: d.rows === undefined ? '' : str(d.rows), text: parts.filter(Boolean).join(' ') };
    }
    case 'result.sample':
      return {
        ...base,
        text: `sample of ${Array.isArray(d.rows) ? d.rows.length : 0} row(s)${d.truncated ? ' (truncated)' : ''}`,
      };
    case 'approval.requested':
    case 'approval.decided':
      return summarizeApproval(event.type, d, base);
    case 'ssh.output':
      return { ...base, text: oneLine(`${str(d.stream)}: ${d.encoding === 'base64' ? '(binary)' : str(d.data)}`) };
    case 'ssh.exit':
      return { ...base, text: `exit ${d.code === null ? `signal ${str(d.signal)}` : str(d.code)}` };
    case 'session.end':
    case 'chain.end':
      return { ...base, text: str(d.reason) };
    case 'seal':
      return { ...base, text: `sealed events 1-${str(d.final_seq)} with key ${str(d.key_id).slice(0, 16)}…` };
    default:
      return { ...base, decision: str(d.decision), rule: str(d.rule), text: oneLine(JSON.stringify(d)) };
  }
}

/** Who opened the session (repository@ref, run, actor) and for which connections. */
function summarizeStart(d: Record<string, unknown>, base: EventSummary): EventSummary {
  const c = (d.claims ?? {}) as Record<string, unknown>;
  const who = [
    str(c.repository) && `${str(c.repository)}@${str(c.ref)}`,
    c.run_id && `run ${str(c.run_id)}`,
    c.actor && `by ${str(c.actor)}`,
  ];
  const where = str(d.connection) || (Array.isArray(d.connections) ? d.connections.join(',') : '');
  return {
    ...base,
    rule: str(d.identity_rule),
    text: oneLine([...who.filter(Boolean), where && `→ ${where}`].filter(Boolean).join(' ')),
  };
}

/** A statement or an SSH command with its decision, rule and (masked) parameters. */
function summarizeCommand(d: Record<string, unknown>, base: EventSummary): EventSummary {
  const params =
    Array.isArray(d.params) && d.params.length > 0
      ? ` [${d.params.map((p, i) => `$${i + 1}=${p === null ? 'NULL' : str(p)}`).join(', ')}]`
      : '';
  return {
    ...base,
    decision: str(d.decision),
    rule: str(d.rule),
    text: oneLine(`${str(d.text ?? d.command)}${params}`),
  };
}

/** An approval request (held, its rule and statement) or its answer (status, who, why). */
function summarizeApproval(
  type: 'approval.requested' | 'approval.decided',
  d: Record<string, unknown>,
  base: EventSummary,
): EventSummary {
  if (type === 'approval.requested')
    return {
      ...base,
      decision: 'review',
      rule: str(d.rule),
      text: oneLine(`${str(d.approval_id)}: ${str(d.statement)}`),
    };
  const by = Array.isArray(d.decided_by) ? d.decided_by.join(', ') : '';
  return {
    ...base,
    decision: str(d.status),
    text: oneLine(`${str(d.approval_id)} by ${by}${d.reason ? `: ${str(d.reason)}` : ''}`),
  };
}

/** An HTTP request (method, path, masked query) or its response (status, duration, size, masked values). */
function summarizeHttp(
  type: 'http.request' | 'http.response',
  d: Record<string, unknown>,
  base: EventSummary,
): EventSummary {
  if (type === 'http.request') {
    const query = d.query ? `?${str(d.query)}` : '';
    const upgrade = d.upgrade ? ` (${str(d.upgrade)})` : '';
    return {
      ...base,
      decision: str(d.decision),
      rule: str(d.rule),
      text: oneLine(`${str(d.method)} ${str(d.path)}${query}${upgrade}`),
    };
  }
  const masked = Number(d.masked_fields ?? 0) + Number(d.masked_values ?? 0);
  const parts = [
    str(d.status),
    `${str(d.duration_ms)}ms`,
    `${str(d.response_bytes ?? 0)}B`,
    masked ? `${masked} masked` : '',
    d.error ? `error ${str(d.error)}` : '',
  ];
  return { ...base, text: oneLine(parts.filter(Boolean).join(' ')) };
}

/** One text line per event: time, seq (after the chain's first 6 characters, for a log of several chains), type, decision, rule, rows, command. */
export function formatEventLine(event: AuditEventWire, showChain = false): string {
  const s = summarizeEvent(event);
  return [
    event.at,
    showChain ? `${(event.chain ?? '').slice(0, 6)}:${String(event.seq).padEnd(4)}` : String(event.seq).padStart(4),
    event.type.padEnd(18),
    s.decision.padEnd(8),
    s.rule.padEnd(18),
    s.rows.padStart(6),
    s.text,
  ]
    .join('  ')
    .trimEnd();
}
