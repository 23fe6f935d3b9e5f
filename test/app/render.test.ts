import { describe, expect, it } from 'vitest';
import { CHECK_OUTPUT_LIMIT, fence, truncateLog } from '../../app/render.ts';

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
