import { describe, expect, it } from 'vitest';
import { renderSessionSummary, summaryRows, summaryTotals } from '../../../actions/src/session-summary.ts';

const ev = (seq: number, type: string, data: Record<string, unknown>) => ({ seq, type, data });

describe('session summary', () => {
  it('pairs each statement with its result by statement_seq and counts decisions, rows and masked values', () => {
    const rows = summaryRows({
      events: [
        ev(1, 'statement', { connection: 'db', text: 'select 1', decision: 'allow', rule: 'r' }),
        ev(2, 'statement', { connection: 'db', text: 'select 2', decision: 'allow', rule: 'r' }),
        ev(3, 'statement.result', { statement_seq: 1, rows: 10, masked_values: 4 }),
        ev(4, 'statement.result', { rows: 2 }),
        ev(5, 'ssh.exec', { connection: 'host', command: 'uptime', decision: 'allow', rule: 's' }),
      ],
    });
    expect(rows.map((r) => [r.statement, r.rows, r.masked])).toEqual([
      ['select 1', 10, 4],
      ['select 2', 2, 0],
      ['uptime', undefined, 0],
    ]);
    expect(summaryTotals(rows)).toEqual({ statements: 3, decisions: { allow: 3 }, rows: 12, masked: 4 });
  });

  it('escapes table-breaking characters and shortens long statements', () => {
    const markdown = renderSessionSummary('s1', [
      {
        connection: 'db',
        statement: `select '|'\n${'x'.repeat(300)}`,
        decision: 'allow',
        rule: '<r>',
        rows: 1,
        masked: 0,
      },
    ]);
    const row = markdown.split('\n').find((line) => line.startsWith('| 1 |'))!;
    expect(row).toContain("select '\\|' xxx");
    expect(row).toContain('&lt;r&gt;');
    expect(row).toContain('…');
    expect(row.length).toBeLessThan(220);
  });

  it('says plainly when a session ran nothing or its log was unavailable', () => {
    expect(renderSessionSummary('s1', [])).toContain('_No statements were run in this session._');
    expect(renderSessionSummary('s1', undefined, 'gateway down')).toContain('> gateway down');
  });
});
