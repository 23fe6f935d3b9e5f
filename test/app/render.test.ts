import { describe, expect, it } from 'vitest';
import { auditCheckOutput, CHECK_OUTPUT_LIMIT, fence, truncateLog } from '../../app/render.ts';
import type { AuditEventWire } from '../../wire/audit-events.ts';

describe('check run rendering', () => {
  it('fences text containing backticks with a longer fence', () => {
    const fenced = fence('select 1 -- ```', 'sql');
    expect(fenced.startsWith('````sql\n')).toBe(true);
    expect(fenced.endsWith('\n````')).toBe(true);
  });

  it('keeps a short log whole', () => {
    expect(truncateLog('a\nb', 'https://gw/log')).toBe(fence('a\nb', 'text'));
  });

  it('cuts a long log at a line end within the limit and links to the full log', () => {
    const log = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'y'.repeat(20)}`).join('\n');
    const text = truncateLog(log, 'https://gw/v1/sessions/s/log');
    expect(text.length).toBeLessThanOrEqual(CHECK_OUTPUT_LIMIT);
    expect(text).toMatch(/yyyy\n…\n```/);
    expect(text.endsWith('_Log truncated; the full masked log is at https://gw/v1/sessions/s/log_')).toBe(true);
  });
});

describe('audit check run of an HTTP session', () => {
  const at = '2026-03-01T12:00:00.000Z';
  const event = (seq: number, type: AuditEventWire['type'], data: Record<string, unknown>): AuditEventWire => ({
    session_id: 's',
    seq,
    type,
    at,
    data,
    prev_hash: 'p',
    hash: 'h',
  });

  it('counts HTTP requests as commands and shows each with its response', () => {
    const output = auditCheckOutput(
      {
        session_id: 's',
        status: 'ended',
        end_reason: 'disconnect',
        started_at: at,
        ended_at: at,
        sealed: true,
        events: [
          event(1, 'http.request', {
            connection: 'api',
            method: 'GET',
            path: '/json',
            decision: 'allow',
            rule: 'reads',
          }),
          event(2, 'http.response', { status: 200, response_bytes: 61, duration_ms: 4.1, masked_fields: 1 }),
          event(3, 'http.request', {
            connection: 'api',
            method: 'DELETE',
            path: '/items/7',
            decision: 'deny',
            rule: 'no-deletes',
          }),
        ],
      },
      ['api'],
      'https://gatehouse.test/log',
    );
    expect(output.title).toBe('1 of 2 commands denied');
    expect(output.text).toContain('api ALLOW rule=reads\n  GET /json');
    expect(output.text).toContain('-> 200 61 bytes in 4.1 ms, 1 masked');
    expect(output.text).toContain('api DENY rule=no-deletes\n  DELETE /items/7');
  });
});
