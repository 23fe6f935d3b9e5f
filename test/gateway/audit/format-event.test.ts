import { describe, expect, it } from 'vitest';
import { formatEventLine, summarizeEvent } from '../../../gateway/audit/format-event.ts';
import type { AuditEventWire } from '../../../wire/audit-events.ts';

function event(type: AuditEventWire['type'], data: Record<string, unknown>): AuditEventWire {
  return { session_id: 's', seq: 7, type, at: '2026-03-01T12:00:00.000Z', data, prev_hash: 'p', hash: 'h' };
}

describe('summarizeEvent', () => {
  it('puts a statement on one line with its decision, rule and parameters', () => {
    expect(
      summarizeEvent(
        event('statement', {
          text: 'SELECT *\n  FROM t WHERE a = $1 AND b = $2',
          params: ['x', null],
          decision: 'deny',
          rule: 'no-star',
        }),
      ),
    ).toEqual({
      decision: 'deny',
      rule: 'no-star',
      text: 'SELECT * FROM t WHERE a = $1 AND b = $2 [$1=x, $2=NULL]',
      rows: '',
    });
  });

  it('shortens very long statements', () => {
    const text = summarizeEvent(
      event('statement', { text: `SELECT ${'a, '.repeat(200)}b`, decision: 'allow', rule: 'r' }),
    ).text;
    expect(text.length).toBe(160);
    expect(text.endsWith('…')).toBe(true);
  });

  it('summarises an HTTP request and its response', () => {
    expect(
      summarizeEvent(
        event('http.request', {
          method: 'DELETE',
          path: '/items/7',
          query: 'force=1',
          decision: 'deny',
          rule: 'no-deletes',
        }),
      ),
    ).toEqual({ decision: 'deny', rule: 'no-deletes', text: 'DELETE /items/7?force=1', rows: '' });
    expect(
      summarizeEvent(
        event('http.response', {
          status: 200,
          duration_ms: 3.2,
          response_bytes: 27,
          masked_fields: 1,
          masked_values: 2,
        }),
      ).text,
    ).toBe('200 3.2ms 27B 3 masked');
  });

  it('summarises ssh, approval and result events in their own terms', () => {
    expect(
      summarizeEvent(event('ssh.exec', { command: 'systemctl restart app', decision: 'review', rule: 'restarts' })),
    ).toMatchObject({ decision: 'review', text: 'systemctl restart app' });
    expect(summarizeEvent(event('ssh.exit', { code: null, signal: 'KILL' })).text).toBe('exit signal KILL');
    expect(summarizeEvent(event('ssh.output', { stream: 'stdout', data: 'AAAA', encoding: 'base64' })).text).toBe(
      'stdout: (binary)',
    );
    expect(
      summarizeEvent(
        event('approval.decided', {
          approval_id: 'apr_1',
          status: 'denied',
          decided_by: ['a', 'b'],
          reason: 'not now',
        }),
      ),
    ).toMatchObject({
      decision: 'denied',
      text: 'apr_1 by a, b: not now',
    });
    expect(summarizeEvent(event('statement.result', { duration_ms: 2, rows: 0, sqlstate: '42501' }))).toMatchObject({
      rows: '0',
      text: '2ms error 42501',
    });
  });

  it('formats a line as time, seq, type, decision, rule, rows and text', () => {
    expect(formatEventLine(event('session.end', { reason: 'expired' }))).toMatch(
      /^2026-03-01T12:00:00\.000Z\s+7\s+session\.end\s+expired$/,
    );
  });
});
